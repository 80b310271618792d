import type { Command } from 'commander';
import { TalosError } from '@talos-ts/cosi';
import { createTalosClient, loadTalosconfig, mergeTalosconfig, saveTalosconfig, talosClientOptionsFromContext } from '@talos-ts/machinery';
import { DEFAULT_CIDR, DEFAULT_CLUSTER_NAME, createCluster, saveClusterState } from '@talos-ts/provision';
import { CliError, arrayFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { resolvePatches } from '../../patches.ts';
import { talosconfigPath } from '../config/config.ts';
import { parseDurationSeconds } from '../events/events.ts';
import { checkClusterHealth } from '../health/health.ts';
import { addClusterFlags, checkProvisioner, clusterGroup } from './cluster.ts';

interface CreateFlags {
  name: string;
  state: string;
  provisioner: string;
  controlplanes: string;
  workers: string;
  cidr: string;
  wait: boolean;
  waitTimeout: string;
  configPatch: string[];
  configPatchControlPlane: string[];
  configPatchWorker: string[];
  kubernetesVersion?: string;
  withDebug?: boolean;
  withKubespan?: boolean;
  imageDir?: string;
  installImage?: string;
  installDisk: boolean;
  memory: string;
  cpus: string;
}

function count(flag: string, text: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min) throw new CliError(`${flag} must be a whole number ≥ ${min}, got "${text}"`);
  return n;
}

/**
 * `talosctl cluster create` (process provisioner): container-mode nodes in network namespaces,
 * configured, bootstrapped and checked for health; the admin context is merged into talosconfig.
 */
export const registerClusterCreate: CommandRegistrar = (parent: Command, io: CliIo) => {
  addClusterFlags(clusterGroup(parent).command('create').description('Creates a local Talos cluster (process- or QEMU-based)'), DEFAULT_CLUSTER_NAME)
    .option('--controlplanes <n>', 'the number of controlplanes to create', '1')
    .option('--workers <n>', 'the number of workers to create', '1')
    .option('--cidr <cidr>', 'CIDR of the cluster network (IPv4 only)', DEFAULT_CIDR)
    .option('--wait', 'wait for the cluster to be ready before returning', true)
    .option('--wait-timeout <duration>', 'timeout to wait for the cluster to be ready', '5m')
    .option('--config-patch <patch>', 'patch generated machineconfigs (applied to all node types), use @file to read a patch from file', arrayFlag, [])
    .option('--config-patch-control-plane <patch>', 'patch generated machineconfigs (applied to \'init\' and \'controlplane\' types)', arrayFlag, [])
    .option('--config-patch-worker <patch>', 'patch generated machineconfigs (applied to \'worker\' type)', arrayFlag, [])
    .option('--kubernetes-version <version>', 'desired kubernetes version to run')
    .option('--image-dir <dir>', 'qemu: a built image directory (talos-imager build --out DIR); default: reuse or build _out/talos-ts-<version>-fast')
    .option('--install-image <image>', 'qemu: the installer image nodes install from (machine.install.image); default: the image\'s installer, pushed to a registry the cluster runs on its bridge')
    .option('--no-install-disk', 'qemu: keep the nodes live (no machine.install.disk): a rebooted node returns to maintenance mode')
    .option('--memory <MiB>', 'qemu: the memory of each VM in MiB', '1024')
    .option('--cpus <n>', 'qemu: the number of vCPUs of each VM', '2')
    .option('--with-kubespan', 'enable KubeSpan system')
    .option('--with-debug', 'enable debug in Talos config to send service logs to the console')
    .action(async (flags: CreateFlags, cmd: Command) => {
      const bad = checkProvisioner(flags.provisioner);
      if (bad) throw new CliError(bad);
      const qemu = flags.provisioner === 'qemu';
      if (process.getuid?.() !== 0) {
        throw new CliError(`cluster create with the ${flags.provisioner} provisioner needs root (it creates network namespaces and ${qemu ? 'tap devices' : 'veth pairs'}): run it as root`);
      }
      const controlplanes = count('--controlplanes', flags.controlplanes, 1);
      const workers = count('--workers', flags.workers, 0);
      const timeoutMs = parseDurationSeconds(flags.waitTimeout) * 1000;
      const [all, controlplane, worker] = await Promise.all([
        resolvePatches(flags.configPatch),
        resolvePatches(flags.configPatchControlPlane),
        resolvePatches(flags.configPatchWorker),
      ]);
      if (flags.withDebug) all.unshift({ type: 'strategic', name: 'with-debug', documents: [{ debug: true }] });
      const started = Date.now();
      const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        let created;
        try {
          created = await createCluster({
            name: flags.name,
            stateRoot: flags.state,
            cidr: flags.cidr,
            controlplanes,
            workers,
            ...(qemu ? { provisioner: 'qemu' as const, ...(flags.imageDir ? { imageDir: flags.imageDir } : {}), ...(flags.installImage ? { installImage: flags.installImage } : {}), installDisk: flags.installDisk, memoryMiB: count('--memory', flags.memory, 256), cpus: count('--cpus', flags.cpus, 1) } : {}),
            patches: { all, controlplane, worker },
            ...(flags.kubernetesVersion ? { kubernetesVersion: flags.kubernetesVersion } : {}),
            ...(flags.withKubespan ? { withKubeSpan: true } : {}),
            stepTimeoutMs: Math.min(timeoutMs, qemu ? 300_000 : 120_000),
            signal: ac.signal,
            onProgress: (l) => io.out(`${l}\n`),
          });
        } catch (err) {
          throw new CliError(
            `creating cluster ${flags.name}: ${TalosError.from(err).message}\n(logs are under ${flags.state}/${flags.name}; clean up with: talosctl cluster destroy --name ${flags.name})`,
          );
        }

        const file = talosconfigPath(cmd);
        const existing = await loadTalosconfig(file, { allowMissing: true });
        // The context carries the cluster's name; a stale one from an earlier cluster of that name is replaced.
        const merged = mergeTalosconfig(existing, created.talosconfig, { force: true });
        await saveTalosconfig(file, merged.config);
        created.state.talosconfigPath = file;
        await saveClusterState(created.state);
        io.out(`merged context "${flags.name}" into ${file} (${elapsed()})\n`);

        if (flags.wait) {
          let verdict = '';
          const ctx = created.talosconfig.contexts[flags.name];
          if (!ctx) throw new CliError('internal error: created talosconfig has no context');
          const client = createTalosClient(talosClientOptionsFromContext(ctx));
          try {
            const nodes = created.state.nodes;
            verdict = await checkClusterHealth(
              client,
              { controlPlanes: nodes.filter((n) => n.role === 'controlplane').map((n) => n.ip), workers: nodes.filter((n) => n.role === 'worker').map((n) => n.ip) },
              { timeoutMs, io, signal: ac.signal },
            );
          } finally {
            client.close();
          }
          io.out(`cluster ${flags.name}: ${verdict} (${elapsed()} after create started)\n`);
        }
        const endpoints = created.talosconfig.contexts[flags.name]?.endpoints ?? [];
        io.out(
          [
            '',
            `PROVISIONER       ${flags.provisioner}`,
            `NAME              ${flags.name}`,
            `NETWORK           ${created.state.network.netns} ${created.state.network.cidr}`,
            `NODES             ${created.state.nodes.map((n) => `${n.name} ${n.ip}`).join(', ')}`,
            `API ENDPOINTS     ${endpoints.join(', ')}`,
            '',
            `talosctl --context ${flags.name} version     # reach the nodes through the loopback forwards`,
            `talosctl cluster show --name ${flags.name}`,
            `talosctl cluster destroy --name ${flags.name}`,
            '',
          ].join('\n'),
        );
      } finally {
        process.off('SIGINT', onSigint);
      }
    });
};
