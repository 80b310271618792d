import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { etcdGroup, memberId } from './etcd.ts';

/** `talosctl etcd members`: the etcd members each node sees. */
export const registerEtcdMembers: CommandRegistrar = (parent: Command, io: CliIo) => {
  etcdGroup(parent)
    .command('members')
    .description('Get the list of etcd cluster members')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.etcdMemberList({ queryLocal: true }, { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'ID', 'HOSTNAME', 'PEER URLS', 'CLIENT URLS', 'LEARNER']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          for (const member of m.members) {
            w.row([s.nodeName(m.metadata?.hostname), memberId(member.id), member.hostname, member.peerUrls.join(','), member.clientUrls.join(','), String(member.isLearner)]);
          }
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
