import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { checkLifecycle } from '../reboot/reboot.ts';

/** `talosctl shutdown`: powers the nodes off (--force skips cordon and drain). */
export const registerShutdown: CommandRegistrar = (parent: Command, _io: CliIo) => {
  parent
    .command('shutdown')
    .description('Shutdown a node')
    .option('--force', 'if true, force a node to shutdown without a cordon/drain')
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => checkLifecycle((await s.client.machine.shutdown({ force: opts.force === true }, { signal: s.signal })).messages, s.nodeName));
    });
};
