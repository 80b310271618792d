import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';

interface NetstatFlags {
  verbose?: boolean;
  extend?: boolean;
  programs?: boolean;
  timers?: boolean;
  listening?: boolean;
  all?: boolean;
  tcp?: boolean;
  udp?: boolean;
  udplite?: boolean;
  raw?: boolean;
  ipv4?: boolean;
  ipv6?: boolean;
}

/** The request upstream's flags make: connected sockets of tcp and udp unless told otherwise. */
export function netstatRequest(f: NetstatFlags): MessageInitShape<typeof machinePb.NetstatRequestSchema> {
  const l4 = {
    tcp: f.tcp === true,
    tcp6: f.tcp === true,
    udp: f.udp === true,
    udp6: f.udp === true,
    udplite: f.udplite === true,
    udplite6: f.udplite === true,
    raw: f.raw === true,
    raw6: f.raw === true,
  };
  if (f.verbose) for (const k of Object.keys(l4) as (keyof typeof l4)[]) l4[k] = true;
  if (!Object.values(l4).some(Boolean)) Object.assign(l4, { tcp: true, tcp6: true, udp: true, udp6: true });
  if (f.ipv4 && !f.ipv6) Object.assign(l4, { tcp6: false, udp6: false, udplite6: false, raw6: false });
  if (f.ipv6 && !f.ipv4) Object.assign(l4, { tcp: false, udp: false, udplite: false, raw: false });
  const Filter = machinePb.NetstatRequest_Filter;
  return {
    filter: f.all ? Filter.ALL : f.listening ? Filter.LISTENING : Filter.CONNECTED,
    feature: { pid: f.programs === true },
    l4proto: l4,
    netns: { hostnetwork: true },
  };
}

/** `talosctl netstat` (alias `ss`): the sockets of the nodes' host network namespace. */
export const registerNetstat: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('netstat')
    .alias('ss')
    .description('Show network connections and sockets')
    .option('-v, --verbose', 'display sockets of all supported transport protocols')
    .option('-x, --extend', 'show detailed socket information')
    .option('-p, --programs', 'show process using socket')
    .option('-o, --timers', 'display timers')
    .option('-l, --listening', 'display listening server sockets')
    .option('-a, --all', 'display all sockets states (default: connected)')
    .option('-t, --tcp', 'display only TCP sockets')
    .option('-u, --udp', 'display only UDP sockets')
    .option('-U, --udplite', 'display only UDPLite sockets')
    .option('-w, --raw', 'display only RAW sockets')
    .option('-4, --ipv4', 'display only ipv4 sockets')
    .option('-6, --ipv6', 'display only ipv6 sockets')
    .action(async (f: NetstatFlags, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.netstat(netstatRequest(f), { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        let header = false;
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          for (const r of m.connectrecord) {
            if (!header) {
              w.row([
                'NODE', 'Proto', 'Recv-Q', 'Send-Q', 'Local Address', 'Foreign Address', 'State',
                ...(f.extend ? ['Uid', 'Inode'] : []),
                ...(f.programs ? ['PID/Program name'] : []),
                ...(f.timers ? ['Timer'] : []),
              ]);
              header = true;
            }
            w.row([
              s.nodeName(m.metadata?.hostname),
              r.l4proto,
              String(r.rxqueue),
              String(r.txqueue),
              `${r.localip}:${r.localport}`,
              `${r.remoteip}:${r.remoteport === 0 ? '*' : r.remoteport}`,
              // 7 (CLOSE) is how unconnected datagram sockets show; upstream leaves it blank.
              r.state === 7 ? '' : (machinePb.ConnectRecord_State[r.state] ?? String(r.state)),
              ...(f.extend ? [String(r.uid), String(r.inode)] : []),
              ...(f.programs ? [r.process && r.process.pid !== 0 ? `${r.process.pid}/${r.process.name}` : '-'] : []),
              ...(f.timers
                ? [`${(machinePb.ConnectRecord_TimerActive[r.tr] ?? String(r.tr)).toLowerCase()} (${(Number(r.timerwhen) / 100).toFixed(2)}/${r.retrnsmt}/${r.timeout})`]
                : []),
            ]);
          }
        }
        if (header) w.flush();
        errors.throwIfAny();
      });
    });
};
