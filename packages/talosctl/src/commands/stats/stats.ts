import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { containerTarget, displayId, hiddenUseCri } from '../containers/containers.ts';

/** `talosctl stats`: memory (MB) and CPU time (ns) of each running container, as upstream prints them. */
export const registerStats: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('stats')
    .description('Get container stats')
    .option('-k, --kubernetes', 'use the k8s.io containerd namespace')
    .addOption(hiddenUseCri())
    .action(async (opts: { kubernetes?: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.stats(containerTarget(opts.kubernetes), { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'NAMESPACE', 'ID', 'MEMORY(MB)', 'CPU']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const sorted = [...m.stats].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          for (const st of sorted) {
            w.row([s.nodeName(m.metadata?.hostname), st.namespace, displayId(st.id, st.podId), (Number(st.memoryUsage) * 1e-6).toFixed(2), st.cpuUsage.toString()]);
          }
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
