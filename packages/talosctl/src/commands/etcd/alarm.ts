import type { Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { etcdGroup, memberId } from './etcd.ts';

type AlarmReply = { metadata?: { hostname: string; error: string } | undefined; memberAlarms: machinePb.EtcdMemberAlarm[] };

function printAlarms(messages: readonly AlarmReply[], nodeName: (h: string | undefined) => string, io: CliIo): void {
  const errors = new NodeErrors();
  const w = new TabWriter(io.out);
  let header = false;
  for (const m of messages) {
    if (errors.check(m.metadata, nodeName)) continue;
    for (const a of m.memberAlarms) {
      if (!header) w.row(['NODE', 'MEMBER', 'ALARM']);
      header = true;
      w.row([nodeName(m.metadata?.hostname), memberId(a.memberId), machinePb.EtcdMemberAlarm_AlarmType[a.alarm] ?? String(a.alarm)]);
    }
  }
  if (header) w.flush();
  errors.throwIfAny();
}

/** `talosctl etcd alarm list|disarm`: the cluster's etcd alarms (NOSPACE, CORRUPT), and clearing them. */
export const registerEtcdAlarm: CommandRegistrar = (parent: Command, io: CliIo) => {
  const alarm = etcdGroup(parent).command('alarm').description('Manage etcd alarms');
  alarm
    .command('list')
    .description('List the etcd alarms for the node.')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        printAlarms((await s.client.machine.etcdAlarmList({}, { signal: s.signal })).messages, s.nodeName, io);
      });
    });
  alarm
    .command('disarm')
    .description('Disarm the etcd alarms for the node.')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        printAlarms((await s.client.machine.etcdAlarmDisarm({}, { signal: s.signal })).messages, s.nodeName, io);
      });
    });
};

/** `talosctl etcd defrag`: defragments the etcd database of each targeted node (one at a time). */
export const registerEtcdDefrag: CommandRegistrar = (parent: Command) => {
  etcdGroup(parent)
    .command('defrag')
    .description('Defragment etcd database on the node')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const errors = new NodeErrors();
        const res = await s.client.machine.etcdDefragment({}, { signal: s.signal });
        for (const m of res.messages) errors.check(m.metadata, s.nodeName);
        errors.throwIfAny();
      });
    });
};
