import { Option, type Command } from 'commander';
import { commonPb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';

/** The containerd namespace and driver of `-k` (Kubernetes, through the CRI) or of Talos's own containers. */
export function containerTarget(kubernetes: boolean | undefined): { namespace: string; driver: commonPb.ContainerDriver } {
  return kubernetes ? { namespace: 'k8s.io', driver: commonPb.ContainerDriver.CRI } : { namespace: 'system', driver: commonPb.ContainerDriver.CONTAINERD };
}

/** How upstream shows a container id: those inside a pod sandbox are drawn under it. */
export function displayId(id: string, podId: string): string {
  return id === podId ? id : `└─ ${id}`;
}

/** `talosctl containers` (alias `c`): containers with a task, per node, sorted by id. */
export const registerContainers: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('containers')
    .alias('c')
    .description('List containers')
    .option('-k, --kubernetes', 'use the k8s.io containerd namespace')
    .addOption(hiddenUseCri())
    .action(async (opts: { kubernetes?: boolean }, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.containers(containerTarget(opts.kubernetes), { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'NAMESPACE', 'ID', 'IMAGE', 'PID', 'STATUS']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const sorted = [...m.containers].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
          for (const c of sorted) w.row([s.nodeName(m.metadata?.hostname), c.namespace, displayId(c.id, c.podId), c.image, String(c.pid), c.status]);
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};

/** Upstream's hidden `--use-cri` flag, accepted and ignored (`-k` picks the driver). */
export function hiddenUseCri(): Option {
  return new Option('--use-cri', 'use the CRI driver').hideHelp();
}
