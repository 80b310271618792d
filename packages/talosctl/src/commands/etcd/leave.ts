import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { checkLifecycle } from '../reboot/reboot.ts';
import { etcdGroup } from './etcd.ts';

/** `talosctl etcd leave`: the targeted nodes leave the etcd cluster. */
export const registerEtcdLeave: CommandRegistrar = (parent: Command, _io: CliIo) => {
  etcdGroup(parent)
    .command('leave')
    .description('Tell nodes to leave etcd cluster')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => checkLifecycle((await s.client.machine.etcdLeaveCluster({}, { signal: s.signal })).messages, s.nodeName));
    });
};
