import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { etcdGroup, humanBytes, memberId } from './etcd.ts';

/** `talosctl etcd status`: the local member's status on each node. */
export const registerEtcdStatus: CommandRegistrar = (parent: Command, io: CliIo) => {
  etcdGroup(parent)
    .command('status')
    .description('Get the status of etcd cluster member')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.etcdStatus({}, { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'MEMBER', 'DB SIZE', 'IN USE', 'LEADER', 'RAFT INDEX', 'RAFT TERM', 'RAFT APPLIED INDEX', 'LEARNER', 'ERRORS']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const st = m.memberStatus;
          if (!st) continue;
          const size = Number(st.dbSize);
          const inUse = Number(st.dbSizeInUse);
          const pct = size > 0 ? ((inUse / size) * 100).toFixed(2) : '0.00';
          w.row([
            s.nodeName(m.metadata?.hostname),
            memberId(st.memberId),
            humanBytes(size),
            `${humanBytes(inUse)} (${pct}%)`,
            memberId(st.leader),
            String(st.raftIndex),
            String(st.raftTerm),
            String(st.raftAppliedIndex),
            String(st.isLearner),
            st.errors.join(', '),
          ]);
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
