import type { Command } from 'commander';
import { TalosError } from '@talos-ts/cosi';
import { loadTalosconfig, saveTalosconfig } from '@talos-ts/machinery';
import { DEFAULT_CLUSTER_NAME, destroyCluster } from '@talos-ts/provision';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { talosconfigPath } from '../config/config.ts';
import { addClusterFlags, checkProvisioner, clusterGroup } from './cluster.ts';

/** Drops a context from a talosconfig file, if both exist; the current context moves off it. */
export async function removeContext(file: string, name: string): Promise<boolean> {
  const config = await loadTalosconfig(file, { allowMissing: true });
  if (!Object.hasOwn(config.contexts, name)) return false;
  const contexts = Object.fromEntries(Object.entries(config.contexts).filter(([n]) => n !== name));
  const current = config.context === name ? (Object.keys(contexts).sort()[0] ?? '') : config.context;
  await saveTalosconfig(file, { context: current, contexts });
  return true;
}

/** `talosctl cluster destroy`: stops the cluster's processes, deletes its namespaces, state and talosconfig context. */
export const registerClusterDestroy: CommandRegistrar = (parent: Command, io: CliIo) => {
  addClusterFlags(clusterGroup(parent).command('destroy').description('Destroys a local docker-based or firecracker-based kubernetes cluster'), DEFAULT_CLUSTER_NAME).action(
    async (flags: { name: string; state: string; provisioner: string }, cmd: Command) => {
      const bad = checkProvisioner(flags.provisioner);
      if (bad) throw new CliError(bad);
      if (process.getuid?.() !== 0) throw new CliError('cluster destroy with the process provisioner needs root (it deletes network namespaces): run it as root');
      let result;
      try {
        result = await destroyCluster({ name: flags.name, stateRoot: flags.state, onProgress: (l) => io.out(`${l}\n`) });
      } catch (err) {
        throw new CliError(`destroying cluster ${flags.name}: ${TalosError.from(err).message}`);
      }
      const file = result.talosconfigPath ?? talosconfigPath(cmd);
      if (await removeContext(file, flags.name).catch(() => false)) io.out(`removed context "${flags.name}" from ${file}\n`);
      io.out(result.existed ? `destroyed cluster ${flags.name}\n` : `cluster ${flags.name} does not exist: nothing to do\n`);
    },
  );
};
