import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';

/** `talosctl dmesg`: the kernel log of the nodes, each line prefixed with its node (-f follows). */
export const registerDmesg: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('dmesg')
    .description('Retrieve kernel logs')
    .option('-f, --follow', 'specify if the kernel log should be streamed')
    .option('--tail', 'specify if only new messages should be sent (makes sense only when combined with --follow)')
    .action(async (opts: { follow?: boolean; tail?: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const errors = new NodeErrors();
        const partial = new Map<string, string>();
        const stream = s.client.machine.dmesg({ follow: opts.follow === true, tail: opts.tail === true }, { signal: s.signal });
        try {
          for await (const data of stream) {
            if (errors.check(data.metadata, s.nodeName)) continue;
            const node = s.nodeName(data.metadata?.hostname);
            const text = (partial.get(node) ?? '') + Buffer.from(data.bytes).toString('utf8');
            const lines = text.split('\n');
            partial.set(node, lines.pop() ?? '');
            for (const line of lines) io.out(`${node}: ${line}\n`);
          }
        } finally {
          for (const [node, rest] of partial) if (rest !== '') io.out(`${node}: ${rest}\n`);
        }
        errors.throwIfAny();
      });
    });
};
