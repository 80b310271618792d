import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { CliError } from '../../cli.ts';

/** The `gen` group, created on first use so each `gen` verb registers on its own. */
export function genGroup(parent: Command): Command {
  return (
    parent.commands.find((c) => c.name() === 'gen') ??
    parent.command('gen').description('Generate base secrets, machine configuration, and other files.')
  );
}

/** Fails like upstream when any target exists and --force was not given. */
export function ensureWritable(files: readonly string[], force: boolean | undefined): void {
  if (force) return;
  for (const f of files) {
    if (existsSync(f)) throw new CliError(`file "${f}" already exists, use --force to overwrite`);
  }
}

/** Writes a secret file with mode 0600, as upstream's WriteSecret. */
export async function writeSecretFile(file: string, content: string): Promise<void> {
  await writeFile(file, content, { mode: 0o600 });
}

/** Parses a non-negative whole number of hours. */
export function parseHours(value: string): number {
  if (!/^\d+$/.test(value)) throw new CliError(`invalid --hours ${JSON.stringify(value)}: want a whole number`);
  return Number(value);
}

/** The force flag every gen verb takes (a persistent flag of the group upstream). */
export const forceFlag = ['-f, --force', 'will overwrite existing files'] as const;
