import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { TalosError } from '@talos-ts/cosi';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { launchEditor } from '../../host/editor.ts';
import { addModeFlags, modeRequest, printApplyResults } from '../../mode.ts';
import { nodeTargets } from '../../targets.ts';
import { parseDurationSeconds } from '../events/events.ts';
import { MACHINE_CONFIG, fetchMachineConfig, isMachineConfigType } from './machineconfig.ts';

/** Drops the leading `# ` comment lines the editor buffer starts with. */
export function stripEditingComment(text: string): string {
  let rest = text;
  while (rest.startsWith('# ') || rest.startsWith('#\n')) {
    const nl = rest.indexOf('\n');
    if (nl < 0) return '';
    rest = rest.slice(nl + 1);
  }
  return rest;
}

function onlyComments(text: string): boolean {
  return text.split('\n').every((l) => l.trim() === '' || l.trim().startsWith('#'));
}

/** `talosctl edit machineconfig`: edit each node's config in $TALOS_EDITOR/$EDITOR and apply it. */
export const registerEdit: CommandRegistrar = (parent: Command, io: CliIo) => {
  addModeFlags(
    parent
      .command('edit')
      .description('Edit machine configuration with the default editor')
      .argument('<type>', 'resource type: machineconfig (mc)')
      .argument('[id]', 'resource id', MACHINE_CONFIG.id)
      .option('--namespace <namespace>', 'resource namespace (default is to use default namespace per resource)'),
  ).action(async (type: string, id: string, flags: { mode: string; dryRun?: boolean; timeout: string }, cmd: Command) => {
    if (!isMachineConfigType(type) || id !== MACHINE_CONFIG.id) throw new CliError('only the machineconfig resource can be edited');
    const mode = modeRequest(flags, parseDurationSeconds);
    await withApiClient(cmd, async (s) => {
      const dir = await mkdtemp(join(tmpdir(), 'talosctl-edit-'));
      try {
        for (const { node, client } of nodeTargets(s)) {
          const body = await fetchMachineConfig(client, s.signal);
          const file = join(dir, `${MACHINE_CONFIG.type}-${MACHINE_CONFIG.id}-edit-${node.replace(/[^A-Za-z0-9.-]/g, '_')}.yaml`);
          let edited = body;
          let lastError = '';
          let lastFailed: string | undefined;
          for (;;) {
            let buffer = `# Editing ${MACHINE_CONFIG.type}/${MACHINE_CONFIG.id} at node ${node}\n`;
            if (lastError !== '') buffer += `# \n# ${lastError.split('\n').join('\n# ')}\n`;
            await writeFile(file, buffer + edited, { mode: 0o600 });
            await launchEditor(file);
            edited = stripEditingComment(await readFile(file, 'utf8'));
            if (onlyComments(edited)) {
              io.out('Apply was skipped: empty file.\n');
              break;
            }
            if (edited === body) {
              io.out('Apply was skipped: no changes detected.\n');
              break;
            }
            // The same text failing twice would loop forever: report it instead.
            if (edited === lastFailed) throw new CliError(`${node}: ${lastError}`);
            try {
              // Apply through the machine API, one node at a time (upstream: WithNodes(ctx, node)).
              const res = await s.client.withNodes([node]).machine.applyConfiguration({ data: Buffer.from(edited), ...mode }, { signal: s.signal });
              const failed = res.messages.find((m) => m.metadata?.error);
              if (failed) throw new TalosError(failed.metadata?.status?.code ?? 2, failed.metadata?.error ?? '');
              printApplyResults(res, io);
              break;
            } catch (err) {
              if (s.signal.aborted) throw err;
              lastError = TalosError.from(err).message;
              lastFailed = edited;
            }
          }
        }
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
};
