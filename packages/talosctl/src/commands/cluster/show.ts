import type { Command } from 'commander';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { DEFAULT_CLUSTER_NAME, clusterStatus, type ClusterStatus } from '@talos-ts/provision';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { formatTable } from '../config/config.ts';
import { addClusterFlags, checkProvisioner, clusterGroup } from './cluster.ts';

/** The `cluster show` text: cluster and network facts, then one row per node. */
export function formatClusterShow(status: ClusterStatus): string {
  const s = status.state;
  const header = formatTable([
    ['PROVISIONER', s.provisioner],
    ['NAME', s.name],
    ['NETWORK NAME', s.network.netns],
    ['NETWORK CIDR', s.network.cidr],
    ['NETWORK GATEWAY', s.network.bridgeIp],
    ['DISCOVERY', s.discovery ? `${s.discovery.endpoint} (${status.running['discovery'] ? 'running' : 'stopped'})` : '-'],
  ]);
  const rows = [['NAME', 'TYPE', 'IP', 'API (HOST)', 'PID', 'STATUS']];
  for (const n of s.nodes) {
    rows.push([n.name, n.role, n.ip, n.apiForwardPort ? `127.0.0.1:${n.apiForwardPort}` : '-', n.pid ? String(n.pid) : '-', status.running[n.name] ? 'running' : 'stopped']);
  }
  return `${header}\nNODES:\n\n${formatTable(rows)}`;
}

/** `talosctl cluster show`: what a local cluster is made of. */
export const registerClusterShow: CommandRegistrar = (parent: Command, io: CliIo) => {
  addClusterFlags(clusterGroup(parent).command('show').description('Shows info about a local provisioned kubernetes cluster'), DEFAULT_CLUSTER_NAME).action(
    async (flags: { name: string; state: string; provisioner: string }) => {
      const bad = checkProvisioner(flags.provisioner);
      if (bad) throw new CliError(bad);
      try {
        io.out(formatClusterShow(await clusterStatus(flags.state, flags.name)));
      } catch (err) {
        if (hasCode(err, Code.NotFound)) throw new CliError(err.message);
        throw new CliError(TalosError.from(err).message);
      }
    },
  );
};
