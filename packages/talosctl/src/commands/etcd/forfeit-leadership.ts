import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { checkLifecycle } from '../reboot/reboot.ts';
import { etcdGroup } from './etcd.ts';

/** `talosctl etcd forfeit-leadership`: a leading member hands leadership to another member. */
export const registerEtcdForfeitLeadership: CommandRegistrar = (parent: Command, _io: CliIo) => {
  etcdGroup(parent)
    .command('forfeit-leadership')
    .description("Tell node to forfeit etcd cluster leadership")
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => checkLifecycle((await s.client.machine.etcdForfeitLeadership({}, { signal: s.signal })).messages, s.nodeName));
    });
};
