import type { Command } from 'commander';
import { parseMetaKey } from '@talos-ts/machinery';
import { withApiClient, type ApiSession } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';

interface MetaFlags {
  insecure?: boolean;
}

function key(text: string): number {
  const k = parseMetaKey(text);
  if ('error' in k) throw new CliError(k.error);
  return k.value;
}

/** Runs one META call on the targeted nodes; each node's failure is reported as upstream words it. */
async function run(cmd: Command, flags: MetaFlags, verb: string, call: (s: ApiSession) => Promise<{ messages: readonly { metadata?: { hostname: string; error: string } | undefined }[] }>): Promise<void> {
  await withApiClient(
    cmd,
    async (s) => {
      let reply;
      try {
        reply = await call(s);
      } catch (err) {
        throw new CliError(`error ${verb} node ${s.nodes.join(',') || 'maintenance'}: ${(err as Error).message}`);
      }
      const failed = reply.messages.filter((m) => m.metadata && m.metadata.error !== '');
      if (failed.length > 0) throw new CliError(failed.map((m) => `error ${verb} node ${s.nodeName(m.metadata?.hostname)}: ${m.metadata?.error ?? ''}`).join('\n'));
    },
    { insecure: flags.insecure === true },
  );
}

/** `talosctl meta write|delete`: keys of the META partition (upstream's syntax: `meta write 0xa value`). */
export const registerMeta: CommandRegistrar = (parent: Command, _io: CliIo) => {
  const meta = parent
    .command('meta')
    .description('Write and delete keys in the META partition')
    .option('-i, --insecure', 'write|delete meta using the insecure (encrypted with no auth) maintenance service');
  meta
    .command('write <key> <value>')
    .description('Write a key-value pair to the META partition.')
    .action(async (k: string, value: string, _o: unknown, cmd: Command) => {
      const tag = key(k);
      await run(cmd, meta.opts<MetaFlags>(), 'writing meta to', (s) => s.client.machine.metaWrite({ key: tag, value: Buffer.from(value, 'utf8') }, { signal: s.signal }));
    });
  meta
    .command('delete <key>')
    .description('Delete a key from the META partition.')
    .action(async (k: string, _o: unknown, cmd: Command) => {
      const tag = key(k);
      await run(cmd, meta.opts<MetaFlags>(), 'deleting meta from', (s) => s.client.machine.metaDelete({ key: tag }, { signal: s.signal }));
    });
};
