// `talosctl cluster create` with the process back end: container-mode machined processes, one per
// network namespace, joined by a bridge in the cluster's own namespace, reached from the host only
// through loopback forwards.

import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import {
  applyPatches,
  contextCredentials,
  createTalosClient,
  formatIssue,
  generateAdminTalosconfig,
  generateMachineConfigs,
  generateSecretsBundle,
  serializeSecretsBundle,
  toConfigSecrets,
  validateConfig,
  TALOS_API_PORT,
  TAG,
  type ConfigPatch,
  type MachineConfig,
  type Talosconfig,
} from '@talos-ts/machinery';
import { discoveryEndpoint, DISCOVERY_PORT, installerReference, planNetwork, registryHost, type NetworkPlan, type PlannedNode } from './network.ts';
import { clusterDir, saveClusterState, type ClusterState, type NodeState } from './state.ts';
import { attachNode, createBridge, createNetns, createTap, listNetns } from './host/netns.ts';
import { isAlive, spawnInNetns, spawned } from './host/processes.ts';
import { startForwarder } from './host/forwarder.ts';
import { checkImageDir, ensureDefaultImage, requireQemu, spawnVm } from './host/qemu.ts';
import { imageHasInstaller, pushClusterInstaller, requireDockerRegistry, spawnRegistry } from './host/registry.ts';

/** The back ends: container-mode machined processes, or VMs booted from a built image. */
export type Provisioner = 'process' | 'qemu';

/** Config patches by the node roles they apply to. */
export interface ClusterPatches {
  readonly all?: readonly ConfigPatch[];
  readonly controlplane?: readonly ConfigPatch[];
  readonly worker?: readonly ConfigPatch[];
}

/** Options of {@link createCluster}. */
export interface CreateClusterOptions {
  readonly name: string;
  /** Root of cluster state directories (the cluster's is ROOT/NAME). */
  readonly stateRoot: string;
  readonly cidr?: string;
  readonly controlplanes: number;
  readonly workers: number;
  /** Default process. */
  readonly provisioner?: Provisioner;
  /** qemu: the built image directory (talos-imager build) every VM boots from. */
  readonly imageDir?: string;
  /** qemu: memory and vCPUs per VM, and the size of each VM's (sparse) data disk file. */
  readonly memoryMiB?: number;
  readonly cpus?: number;
  readonly diskSizeBytes?: number;
  /**
   * qemu: `machine.install.image` of the nodes (upstream's `--install-image`); default the
   * installer of imageDir, pushed to the cluster's own registry on the bridge.
   */
  readonly installImage?: string;
  /**
   * qemu: nodes with an install image install to their disk (/dev/vda) and boot from it from then
   * on (default true); false keeps them live, so a reboot returns a node to maintenance mode.
   */
  readonly installDisk?: boolean;
  readonly patches?: ClusterPatches;
  readonly kubernetesVersion?: string;
  /** machine.network.kubespan.enabled in every node's config (upstream's --with-kubespan). */
  readonly withKubeSpan?: boolean;
  /** Bound on each wait of the create flow (maintenance API, apid, bootstrap). */
  readonly stepTimeoutMs?: number;
  readonly signal?: AbortSignal;
  /** Receives one human-readable line per step. */
  readonly onProgress?: (line: string) => void;
}

/** What create returns: the recorded state and a talosconfig with the cluster's admin context. */
export interface CreatedCluster {
  readonly state: ClusterState;
  /** One context named after the cluster: endpoints = loopback forwards, nodes = node addresses. */
  readonly talosconfig: Talosconfig;
  /** Set when Bootstrap could not be called yet (the node does not implement it). */
  readonly bootstrapWarning?: string;
}

function patched(cfg: MachineConfig, patches: readonly ConfigPatch[], what: string): MachineConfig {
  if (patches.length === 0) return cfg;
  const r = applyPatches(cfg, patches);
  if (r.error) throw new TalosError(Code.InvalidArgument, `${what}: ${r.error.message}`);
  return r.value;
}

function checked(cfg: MachineConfig, what: string, mode: 'container' | 'metal'): MachineConfig {
  const result = validateConfig(cfg, { mode });
  if (result.errors.length > 0) {
    throw new TalosError(Code.InvalidArgument, `generated ${what} config is invalid:\n${result.errors.map((e) => formatIssue(what, e)).join('\n')}`);
  }
  return cfg;
}

/**
 * The config patch of a qemu cluster's nodes: `machine.install.image`, and the cluster's registry
 * as a mirror of itself with an http:// endpoint, since it speaks plain HTTP on the bridge.
 */
export function installerPatch(plan: Pick<NetworkPlan, 'bridgeIp'>, installImage: string): ConfigPatch {
  const host = registryHost(plan);
  return { type: 'strategic', name: 'cluster-installer', documents: [{ machine: { install: { image: installImage }, registries: { mirrors: { [host]: { endpoints: [`http://${host}`] } } } } }] };
}

/** The disk a qemu node installs to: the launcher attaches the install disk first. */
export const VM_INSTALL_DISK = '/dev/vda';

/**
 * The per-node config patch of a qemu node installing to its disk: `machine.install.disk`, and the
 * live boot's address and hostname as `extraKernelArgs`, since the installed slots boot with the
 * installer's kernel arguments and these, not with the live `-append` (upgrades keep them too).
 */
export function installDiskPatch(plan: Pick<NetworkPlan, 'bridgeIp' | 'prefixLength'>, node: Pick<NodeState, 'ip' | 'name'>): ConfigPatch {
  const extraKernelArgs = vmKernelArgs(plan, node).filter((a) => !a.startsWith('console=') && !a.startsWith('talos.platform='));
  return { type: 'strategic', name: `install-disk-${node.name}`, documents: [{ machine: { install: { disk: VM_INSTALL_DISK, extraKernelArgs } } }] };
}

/** Makes the configs: generated, pointed at the cluster's own discovery service, then the user's patches. */
async function makeConfigs(plan: NetworkPlan, options: CreateClusterOptions, installImage?: string): Promise<{ controlplane: MachineConfig; worker: MachineConfig; talosconfig: Talosconfig; secretsYaml: string }> {
  const firstCp = plan.nodes[0] as PlannedNode;
  const bundle = await generateSecretsBundle();
  const generated = generateMachineConfigs({
    clusterName: options.name,
    endpoint: `https://${firstCp.ip}:6443`,
    ...(options.kubernetesVersion ? { kubernetesVersion: options.kubernetesVersion } : {}),
    // The host reaches apid through 127.0.0.1 forwards; the server certificate must name it.
    additionalSans: ['127.0.0.1'],
    ...(options.withKubeSpan ? { withKubeSpan: true } : {}),
    secrets: toConfigSecrets(bundle),
  });
  const discovery: ConfigPatch = {
    type: 'strategic',
    name: 'cluster-discovery',
    documents: [{ cluster: { discovery: { enabled: true, registries: { service: { endpoint: discoveryEndpoint(plan) } } } } }],
  };
  const all = [discovery, ...(installImage ? [installerPatch(plan, installImage)] : []), ...(options.patches?.all ?? [])];
  const mode = options.provisioner === 'qemu' ? 'metal' : 'container';
  const controlplane = checked(patched(patched(generated.controlplane, all, 'controlplane'), options.patches?.controlplane ?? [], 'controlplane'), 'controlplane', mode);
  const worker = checked(patched(patched(generated.worker, all, 'worker'), options.patches?.worker ?? [], 'worker'), 'worker', mode);
  const talosconfig = await generateAdminTalosconfig({ contextName: options.name, endpoints: [], nodes: plan.nodes.map((n) => n.ip), osCa: bundle.certs.os });
  return { controlplane, worker, talosconfig, secretsYaml: serializeSecretsBundle(bundle) };
}

async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    // The listener goes when the sleep ends: a long wait retries often on one signal.
    const onAbort = (): void => {
      clearTimeout(t);
      reject(new TalosError(Code.Canceled, 'cancelled'));
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Retries fn until it resolves; after timeoutMs rethrows its last error naming what was awaited. */
async function retry<T>(
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  options: { timeoutMs: number; signal?: AbortSignal; giveUp?: () => Promise<string | undefined> },
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  let last: unknown;
  for (;;) {
    if (options.signal?.aborted) throw new TalosError(Code.Canceled, `cancelled while waiting for ${what}`);
    const reason = await options.giveUp?.();
    if (reason) throw new TalosError(Code.Unavailable, `gave up waiting for ${what}: ${reason}`);
    const attempt = AbortSignal.any([AbortSignal.timeout(Math.max(1000, Math.min(10_000, deadline - Date.now()))), ...(options.signal ? [options.signal] : [])]);
    try {
      return await fn(attempt);
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) {
      throw new TalosError(Code.DeadlineExceeded, `timed out after ${Math.round(options.timeoutMs / 1000)}s waiting for ${what}: ${TalosError.from(last).message}`, { cause: last });
    }
    await sleep(500, options.signal);
  }
}

/** The last lines of a log file (a VM's console), for error messages. */
async function logTail(file: string, lines = 20): Promise<string> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split(/\r?\n/).filter((l) => l.trim() !== '').slice(-lines).join('\n');
}

/** Waits until the discovery service logs that it listens (it is unreachable from the host namespace). */
async function waitForLogLine(file: string, needle: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  await retry(
    `${needle} in ${file}`,
    async () => {
      const text = await readFile(file, 'utf8').catch(() => '');
      if (!text.includes(needle)) throw new TalosError(Code.Unavailable, 'not yet');
    },
    options,
  );
}

/** The tag of a built image's installer: `v` and the version of its manifest. */
function imageTag(imageDir: string): string {
  try {
    const m = JSON.parse(readFileSync(join(imageDir, 'manifest.json'), 'utf8')) as { version?: string };
    if (m.version) return `v${m.version.replace(/^v/, '')}`;
  } catch {
    // checkImageDir has said what is wrong with the directory; fall back to the release tag.
  }
  return TAG;
}

/** A locally administered MAC per VM: QEMU's default is one MAC for all, which a bridge cannot tell apart. */
export function vmMac(index: number): string {
  return `52:54:00:7a:${((index >> 8) & 255).toString(16).padStart(2, '0')}:${(index & 255).toString(16).padStart(2, '0')}`;
}

/** The kernel command line of a node's VM: its bridge address through `ip=`, the metal platform. */
export function vmKernelArgs(plan: Pick<NetworkPlan, 'bridgeIp' | 'prefixLength'>, node: Pick<NodeState, 'ip' | 'name'>): string[] {
  return ['console=ttyS0', 'quiet', ipArg(plan, node, node.name), 'talos.platform=metal', `talos.hostname=${node.name}`];
}

/**
 * The `ip=` argument giving a node its bridge address and the default route through the bridge.
 * Process nodes get it without a hostname (their hostname keeps coming from their address).
 */
export function ipArg(plan: Pick<NetworkPlan, 'bridgeIp' | 'prefixLength'>, node: Pick<NodeState, 'ip'>, hostname = ''): string {
  const mask = [24, 16, 8, 0].map((s) => ((0xffffffff << (32 - plan.prefixLength)) >>> s) & 255).join('.');
  return `ip=${node.ip}::${plan.bridgeIp}:${mask}:${hostname}:eth0:off`;
}

/**
 * Creates the cluster. Each thing that outlives this call (namespace, process) is recorded in
 * state.json before the next step, so a failure part-way leaves a state `destroyCluster` cleans up.
 */
export async function createCluster(options: CreateClusterOptions): Promise<CreatedCluster> {
  const progress = options.onProgress ?? (() => undefined);
  const stepTimeoutMs = options.stepTimeoutMs ?? 120_000;
  const signal = options.signal;
  const plan = planNetwork(options.name, { controlplanes: options.controlplanes, workers: options.workers, ...(options.cidr ? { cidr: options.cidr } : {}) });
  const dir = clusterDir(options.stateRoot, options.name);
  const qemu = options.provisioner === 'qemu';
  let imageDir = options.imageDir ?? '';
  if (qemu) requireQemu();
  if (qemu && imageDir !== '') checkImageDir(imageDir);
  if (qemu && imageDir === '') imageDir = await ensureDefaultImage(TAG, progress, signal);
  if (qemu && imageHasInstaller(imageDir)) requireDockerRegistry();
  if (existsSync(join(dir, 'state.json'))) {
    throw new TalosError(Code.AlreadyExists, `cluster ${JSON.stringify(options.name)} already exists (${dir}): destroy it first with talosctl cluster destroy --name ${options.name}`);
  }
  // Checked before anything is recorded: destroy must never delete a namespace this cluster did not make.
  const taken = (await listNetns()).filter((ns) => ns === plan.netns || plan.nodes.some((n) => n.netns === ns));
  if (taken.length > 0) {
    throw new TalosError(Code.AlreadyExists, `network namespace(s) ${taken.join(', ')} already exist: destroy the cluster first (talosctl cluster destroy --name ${options.name})`);
  }
  // An image without installer files (a hand-made boot-only directory) gets no registry.
  const withRegistry = qemu && imageHasInstaller(imageDir);
  const installImage = options.installImage ?? (withRegistry ? installerReference(plan, imageTag(imageDir)) : undefined);
  const installDisk = qemu && installImage !== undefined && options.installDisk !== false;
  const configs = await makeConfigs(plan, options, installImage);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { nodes: _nodes, ...network } = plan;
  const state: ClusterState = {
    version: 1,
    name: options.name,
    provisioner: qemu ? 'qemu' : 'process',
    dir,
    createdAt: new Date().toISOString(),
    network,
    // A VM has no namespace of its own: it sits in the cluster's, on a tap named like the veth.
    nodes: plan.nodes.map(
      (n, i): NodeState => ({
        name: n.name,
        role: n.role,
        ip: n.ip,
        netns: qemu ? plan.netns : n.netns,
        veth: qemu ? `tap${i}` : n.veth,
        dir: join(dir, n.name),
        logFile: join(dir, `${n.name}.log`),
        ...(qemu ? { diskFile: join(dir, `${n.name}.disk`) } : {}),
      }),
    ),
    netnsCreated: [],
  };
  await saveClusterState(state);
  await writeFile(join(dir, 'secrets.yaml'), configs.secretsYaml, { mode: 0o600 });
  await writeFile(join(dir, 'controlplane.yaml'), configs.controlplane.toYaml(), { mode: 0o600 });
  await writeFile(join(dir, 'worker.yaml'), configs.worker.toYaml(), { mode: 0o600 });

  progress(`creating network ${plan.netns} (${plan.cidr}, bridge ${plan.bridgeIp})`);
  state.netnsCreated.push(plan.netns);
  await saveClusterState(state);
  await createNetns(plan.netns);
  await createBridge(plan);
  if (qemu) {
    for (const node of state.nodes) await createTap(plan, node.veth);
  } else {
    for (const node of plan.nodes) {
      state.netnsCreated.push(node.netns);
      await saveClusterState(state);
      await createNetns(node.netns);
      await attachNode(plan, node);
    }
  }

  const discoveryLog = join(dir, 'discovery.log');
  const discoveryChild = spawnInNetns({
    netns: plan.netns,
    program: 'talos-discovery',
    args: ['--listen', `${plan.bridgeIp}:${DISCOVERY_PORT}`, '--snapshot-path', join(dir, 'discovery.snapshot')],
    logFile: discoveryLog,
  });
  const discoveryPid = await spawned(discoveryChild);
  discoveryChild.unref();
  state.discovery = { pid: discoveryPid, endpoint: discoveryEndpoint(plan), logFile: discoveryLog };
  await saveClusterState(state);
  await waitForLogLine(discoveryLog, '"listening"', { timeoutMs: stepTimeoutMs, ...(signal ? { signal } : {}) });
  progress(`discovery service listening on ${state.discovery.endpoint}`);

  if (withRegistry) {
    const registryLog = join(dir, 'registry.log');
    const registryChild = spawnRegistry({ netns: plan.netns, listen: registryHost(plan), dir, logFile: registryLog });
    const registryPid = await spawned(registryChild);
    registryChild.unref();
    state.registry = { pid: registryPid, host: registryHost(plan), logFile: registryLog };
    await saveClusterState(state);
  }

  const forwarderLog = join(dir, 'forwarder.log');
  const targets = [...plan.nodes.map((n) => `${n.ip}:${TALOS_API_PORT}`), ...(state.registry ? [state.registry.host] : [])];
  const fwd = await startForwarder({ netns: plan.netns, targets, logFile: forwarderLog, clusterDir: dir });
  state.forwarder = { pid: fwd.pid, logFile: forwarderLog };
  state.nodes.forEach((n, i) => {
    const port = fwd.forwards[i]?.port;
    if (port !== undefined) n.apiForwardPort = port;
  });
  if (state.registry) state.registry.forwardPort = fwd.forwards[state.nodes.length]?.port;
  await saveClusterState(state);
  if (state.registry?.forwardPort !== undefined) {
    const pushed = await pushClusterInstaller({ imageDir, registry: `127.0.0.1:${state.registry.forwardPort}`, repository: 'talos-ts/installer', timeoutMs: stepTimeoutMs, ...(signal ? { signal } : {}) });
    progress(`registry on ${state.registry.host} holds talos-ts/installer:${pushed.tag} (${pushed.manifestDigest}); nodes install from ${installImage ?? ''}`);
  }

  for (const [i, node] of state.nodes.entries()) {
    await mkdir(node.dir, { recursive: true, mode: 0o700 });
    if (qemu) {
      const diskFile = node.diskFile ?? join(node.dir, 'disk.raw');
      // Sparse: the file takes room only as the guest writes.
      await writeFile(diskFile, '', { mode: 0o600 });
      await truncate(diskFile, options.diskSizeBytes ?? 6 * 1024 ** 3);
      const child = spawnVm({
        netns: plan.netns,
        imageDir,
        tap: node.veth,
        mac: vmMac(i),
        diskFile,
        kernelArgs: vmKernelArgs(plan, node),
        logFile: node.logFile,
        memoryMiB: options.memoryMiB ?? 1024,
        cpus: options.cpus ?? 2,
        nodeDir: node.dir,
      });
      node.pid = await spawned(child);
      child.unref();
      await saveClusterState(state);
      progress(`started VM ${node.name} (${node.role}) at ${node.ip}, launcher pid ${node.pid}, API on 127.0.0.1:${node.apiForwardPort ?? '?'}`);
      continue;
    }
    const child = spawnInNetns({
      netns: node.netns,
      program: 'machined',
      // The node owns its namespace: its network controllers take over the address and default
      // route attachNode set up, from the same ip= a VM would boot with (same values, so no change).
      args: ['--platform', 'container', '--state-dir', node.dir, '--address', node.ip, '--own-network', '--cmdline', ipArg(plan, node)],
      logFile: node.logFile,
    });
    node.pid = await spawned(child);
    child.unref();
    await saveClusterState(state);
    progress(`started ${node.name} (${node.role}) at ${node.ip}, pid ${node.pid}, API on 127.0.0.1:${node.apiForwardPort ?? '?'}`);
  }

  const endpointOf = (n: NodeState): string => `127.0.0.1:${n.apiForwardPort ?? 0}`;
  for (const node of state.nodes) {
    const client = createTalosClient({ endpoints: [endpointOf(node)], insecure: true });
    try {
      await retry(`the maintenance API of ${node.name}`, (s) => client.machine.version({}, { signal: s }), {
        timeoutMs: stepTimeoutMs,
        ...(signal ? { signal } : {}),
        // A VM that stopped (bad image, QEMU failing to start) will never answer: say why now.
        giveUp: async () => (node.pid !== undefined && !isAlive(node.pid) ? `${qemu ? 'QEMU' : 'machined'} exited; log tail:\n${await logTail(node.logFile)}` : undefined),
      });
      const roleCfg = node.role === 'controlplane' ? configs.controlplane : configs.worker;
      const cfg = installDisk ? patched(roleCfg, [installDiskPatch(plan, node)], node.name) : roleCfg;
      await client.machine.applyConfiguration({ data: Buffer.from(cfg.toYaml()) }, signal ? { signal } : {});
      progress(`applied ${node.role} config to ${node.name}${installDisk ? ` (installs to ${VM_INSTALL_DISK} from ${installImage ?? ''}, then boots from it)` : ''}`);
    } finally {
      client.close();
    }
  }

  const ctxName = options.name;
  const baseCtx = configs.talosconfig.contexts[ctxName];
  if (!baseCtx) throw new TalosError(Code.Internal, 'generated talosconfig has no context');
  const context = { ...baseCtx, endpoints: state.nodes.filter((n) => n.role === 'controlplane').map(endpointOf), nodes: state.nodes.map((n) => n.ip) };
  const talosconfig: Talosconfig = { context: ctxName, contexts: { [ctxName]: context } };

  const firstCp = state.nodes[0] as NodeState;
  const creds = contextCredentials(context);
  const client = createTalosClient({ endpoints: [endpointOf(firstCp)], ...creds });
  let bootstrapWarning: string | undefined;
  try {
    // An installing node answers only once it has written its disk, restarted and booted from it.
    // A client per attempt: a connection opened just before that restart is never answered nor
    // reset (the new boot never hears of it), and a client would keep waiting on it.
    await retry(
      `apid on ${firstCp.name}`,
      async (s) => {
        const attempt = createTalosClient({ endpoints: [endpointOf(firstCp)], ...creds });
        try {
          return await attempt.machine.version({}, { signal: s });
        } finally {
          attempt.close();
        }
      },
      { timeoutMs: stepTimeoutMs * (installDisk ? 2 : 1), ...(signal ? { signal } : {}) },
    );
    progress(`bootstrapping etcd on ${firstCp.name}`);
    try {
      await retry(
        `bootstrap of ${firstCp.name}`,
        async (s) => {
          try {
            const res = await client.machine.bootstrap({}, { signal: s });
            const err = res.messages.find((m) => m.metadata?.error)?.metadata?.error;
            if (err) throw new TalosError(Code.Unavailable, err);
          } catch (e) {
            // Unimplemented is final: stop retrying and report it below.
            if (hasCode(e, Code.Unimplemented)) return e;
            // An earlier attempt got through although its answer did not.
            if (hasCode(e, Code.AlreadyExists)) return undefined;
            throw e;
          }
          return undefined;
        },
        { timeoutMs: stepTimeoutMs, ...(signal ? { signal } : {}) },
      ).then((e) => {
        if (e) throw e;
      });
    } catch (err) {
      if (!hasCode(err, Code.Unimplemented)) throw err;
      bootstrapWarning = `Bootstrap is not implemented by the nodes yet (${err.message}): etcd was not started`;
      progress(`warning: ${bootstrapWarning}`);
    }
  } finally {
    client.close();
  }
  return { state, talosconfig, ...(bootstrapWarning ? { bootstrapWarning } : {}) };
}
