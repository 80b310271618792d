// `talosctl dashboard`, after upstream's: a header with the node's key figures, F1 summary (Talos
// info, services, network, the machined log followed) and F2 monitor (CPU and memory graphs, load,
// processes), a footer to switch nodes and screens. Not built yet, for want of the API behind them:
// upstream's F3 resource explorer; the Kubernetes panel; machine stage/ready (no MachineStatus
// resource); CPU frequency, network and disk sparklines (no CPUInfo, NetworkDeviceStats, DiskStats
// RPCs). The network-config and config-URL screens are the node console's, not talosctl's.

import type { Command } from 'commander';
import { withApiClient } from '../../api.ts';
import { CliError, type CommandRegistrar } from '../../cli.ts';
import { followLogs, pollNode } from './source.ts';
import { runDashboard } from './terminal.ts';

/** Milliseconds of a Go duration ("3s", "500ms", "1m30s"), as upstream's --update-interval takes. */
export function parseIntervalMs(text: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length) throw new CliError(`invalid argument "${text}" for "-d, --update-interval" flag: invalid duration`);
  // A poll per node per interval: below this the dashboard would only queue calls behind each other.
  if (total < 100) throw new CliError(`invalid argument "${text}" for "-d, --update-interval" flag: must be at least 100ms`);
  return total;
}

const KEYS = `Keys:
  h, Left          previous node
  l, Right         next node
  j, Down          scroll down (the log on the summary screen, the process list on the monitor screen)
  k, Up            scroll up
  Ctrl-D, Ctrl-U   half a page down, up
  Ctrl-F, Ctrl-B   a whole page down, up
  F1, F2           summary screen, monitor screen
  Ctrl-Z           pause or resume updates
  q, Ctrl-C        quit
`;

/** `talosctl dashboard`: a terminal UI with each node's summary, live CPU and memory, and logs. */
export const registerDashboard: CommandRegistrar = (parent: Command) => {
  parent
    .command('dashboard')
    .description('Cluster dashboard with node overview, logs and real-time metrics')
    .addHelpText('after', `\n${KEYS}`)
    .option('-d, --update-interval <duration>', 'interval between updates', '3s')
    .action(async (opts: { updateInterval: string }, cmd: Command) => {
      const intervalMs = parseIntervalMs(opts.updateInterval);
      if (!process.stdin.isTTY || !process.stdout.isTTY) throw new CliError('dashboard needs a terminal: stdin and stdout must be a TTY');
      await withApiClient(cmd, async (s) => {
        await runDashboard({
          nodes: s.nodes,
          intervalMs,
          signal: s.signal,
          input: process.stdin,
          output: process.stdout,
          source: {
            poll: (node, signal) => pollNode(s.client.withNode(node), signal),
            followLogs: (node, o) => followLogs(s.client.withNode(node), { service: 'machined', ...o }),
          },
        });
      });
    });
};
