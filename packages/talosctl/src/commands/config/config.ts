import { homedir } from 'node:os';
import type { Command } from 'commander';
import {
  loadTalosconfig,
  resolveTalosconfigPath,
  saveTalosconfig,
  type Talosconfig,
  type TalosconfigContext,
} from '@talos-ts/machinery';
import { CliError } from '../../cli.ts';

/** The `config` group, created on first use so each verb registers on its own. */
export function configGroup(parent: Command): Command {
  return (
    parent.commands.find((c) => c.name() === 'config') ??
    parent.command('config').description('Manage the client configuration file (talosconfig)')
  );
}

interface Globals {
  talosconfig?: string;
  context?: string;
}

function globals(cmd: Command): Globals {
  return cmd.optsWithGlobals<Globals>();
}

/** The talosconfig path for this invocation (flag, TALOSCONFIG, XDG, ~/.talos/config). */
export function talosconfigPath(cmd: Command): string {
  return resolveTalosconfigPath({ flag: globals(cmd).talosconfig, env: process.env, homeDir: homedir() }).path;
}

/** Opens the talosconfig; a missing file reads as empty, as upstream creates it on first use. */
export async function openConfig(cmd: Command): Promise<{ path: string; config: Talosconfig }> {
  const path = talosconfigPath(cmd);
  try {
    return { path, config: await loadTalosconfig(path, { allowMissing: true }) };
  } catch (err) {
    throw new CliError(`error reading config: ${(err as Error).message}`);
  }
}

/** Saves the talosconfig with upstream's error wording. */
export async function writeConfig(path: string, config: Talosconfig): Promise<void> {
  try {
    await saveTalosconfig(path, config);
  } catch (err) {
    throw new CliError(`error writing config: ${(err as Error).message}`);
  }
}

/** The context this invocation works on: --context, else the file's current one; must exist. */
export function selectedContext(cmd: Command, config: Talosconfig): { name: string; context: TalosconfigContext } {
  const name = globals(cmd).context || config.context;
  if (!name) throw new CliError('no context is set');
  const context = config.contexts[name];
  if (!context) throw new CliError(`context "${name}" is not defined`);
  return { name, context };
}

/** Returns config with one context replaced. */
export function withContext(config: Talosconfig, name: string, context: TalosconfigContext): Talosconfig {
  return { context: config.context, contexts: { ...config.contexts, [name]: context } };
}

/** Lays out rows like Go's tabwriter with padding 3: every column but the last padded. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, cell.length)));
  return rows
    .map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join(''))
    .map((line) => `${line}\n`)
    .join('');
}
