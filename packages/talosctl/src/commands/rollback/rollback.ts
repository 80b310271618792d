import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { checkLifecycle } from '../reboot/reboot.ts';

/** `talosctl rollback`: the node boots its previous slot from now on, and reboots (upstream prints nothing). */
export const registerRollback: CommandRegistrar = (parent: Command, _io: CliIo) => {
  parent
    .command('rollback')
    .description('Rollback a node to the previous installation')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        try {
          checkLifecycle((await s.client.machine.rollback({}, { signal: s.signal })).messages, s.nodeName);
        } catch (err) {
          throw new CliError(`error executing rollback: ${(err as Error).message}`);
        }
      });
    });
};
