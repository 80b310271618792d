import type { Command } from 'commander';
import { defaultStateRoot } from '@talos-ts/provision';

/** The `cluster` command group, created on first use by any of its verbs. */
export function clusterGroup(parent: Command): Command {
  return parent.commands.find((c) => c.name() === 'cluster') ?? parent.command('cluster').description('A collection of commands for managing local docker-based or QEMU-based clusters');
}

/** Flags every cluster verb shares: the cluster name and the root of state directories. */
export function addClusterFlags(cmd: Command, defaultName: string): Command {
  return cmd
    .option('--name <name>', 'the name of the cluster', defaultName)
    .option('--state <dir>', 'directory path to store cluster state', defaultStateRoot())
    .option('--provisioner <name>', 'Talos cluster provisioner to use: process (container-mode nodes) or qemu (VMs booted from a built image)', 'process');
}

/** Rejects provisioners other than process and qemu with one clear line. */
export function checkProvisioner(name: string): string | undefined {
  return name === 'process' || name === 'qemu' ? undefined : `provisioner "${name}" is not available: use "process" (container-mode nodes in network namespaces) or "qemu" (VMs)`;
}
