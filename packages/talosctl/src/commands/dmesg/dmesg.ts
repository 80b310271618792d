import type { Command } from 'commander';
import { printDataStream, withApiClient } from '../../api.ts';
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
        const stream = s.client.machine.dmesg({ follow: opts.follow === true, tail: opts.tail === true }, { signal: s.signal });
        await printDataStream(stream, s, io);
      });
    });
};
