import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { checkLifecycle } from '../reboot/reboot.ts';
import { etcdGroup, parseMemberId, requireOneNode } from './etcd.ts';

/** `talosctl etcd remove-member <member ID>`: removes a member whose node is gone. */
export const registerEtcdRemoveMember: CommandRegistrar = (parent: Command, _io: CliIo) => {
  etcdGroup(parent)
    .command('remove-member')
    .description(
      'Remove the node from etcd cluster (use talosctl etcd leave on a node that is still running; this is for members that no longer have a node)',
    )
    .argument('<member ID>', 'member ID in hex, as `talosctl etcd members` shows it')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const memberId = parseMemberId(id);
      await withApiClient(cmd, async (s) => {
        requireOneNode(s.nodes, 'etcd remove-member');
        checkLifecycle((await s.client.machine.etcdRemoveMemberByID({ memberId }, { signal: s.signal })).messages, s.nodeName);
      });
    });
};
