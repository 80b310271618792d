import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Code,
  InMemoryState,
  Runtime,
  TalosError,
  createLogger,
  type Logger,
  type LogRecord,
} from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  MachineConfigType,
  NamespaceName,
  TAG,
  HostnameId,
  HostnameStatusType,
  createSelfSignedCa,
  fqdn,
  generateClientCertificate,
  generateKey,
  inspectPb,
  machinePb,
  cosiStatePb,
  newMachineConfig,
  newTalosconfig,
  newVersion,
  privateKeyToPkcs8Pem,
  registerTalosResources,
  serializeTalosconfig,
  type CallContext,
  type HostnameStatusSpec,
  type MachineConfigSpec,
  type V1Alpha1Config,
} from '@talos-ts/machinery';
import { AffiliateMergeController } from './controllers/cluster/affiliate-merge.ts';
import { createDiscoveryConfigController } from './controllers/cluster/config.ts';
import { DiscoveryServiceController } from './controllers/cluster/discovery-service.ts';
import { LocalAffiliateController } from './controllers/cluster/local-affiliate.ts';
import { createMemberController } from './controllers/cluster/member.ts';
import { NodeIdentityController } from './controllers/cluster/node-identity.ts';
import { createMachineTypeController } from './controllers/config/machine-type.ts';
import { machineConfigOf } from './controllers/config/parse.ts';
import { createNodenameController } from './controllers/k8s/nodename.ts';
import { HostnameController } from './controllers/network/hostname.ts';
import { ApiCertificatesController } from './controllers/secrets/api-certificates.ts';
import { CertificateFilesController } from './controllers/secrets/certificate-files.ts';
import { EtcdCertificatesController } from './controllers/secrets/etcd-certificates.ts';
import { EtcdManager } from './etcd/etcd.ts';
import { createStatePeerSource, type ControlPlanePeerSource } from './etcd/peers.ts';
import { EventBus } from './events/bus.ts';
import { readMemInfo } from './linux/meminfo.ts';
import { createProcessRunner } from './linux/process.ts';
import { nodePaths, type NodePaths } from './paths.ts';
import { containerPlatform, defaultHostname } from './platform/container.ts';
import { metalPlatform } from './platform/metal.ts';
import { MountStatusController } from './controllers/runtime/mount-status.ts';
import { VolumeStatusController } from './controllers/block/volume-status.ts';
import { grpcHealthCheck } from './system/grpc-health.ts';
import { formatKernelRecord, readKernelLog, readKernelLogBuffer, type KernelRecord } from './linux/kmsg.ts';
import { principalFromMetadata, type Principal } from './server/authz.ts';
import { implement } from './server/implement.ts';
import { createInspectService } from './server/inspect-service.ts';
import { createKubeconfigService } from './server/kubeconfig-service.ts';
import { createMachineService, machineEvents, type ApplyResult, type MachineBackend } from './server/machine-service.ts';
import { serve, type RunningServer, type Served } from './server/serve.ts';
import { createStateService } from './server/state-service.ts';
import { checkConfig, lineDiff, needsReboot, type CheckedConfig } from './sequencer/apply.ts';
import { ConfigStore } from './sequencer/config-store.ts';
import { ServiceLog } from './system/log.ts';
import { ServiceSupervisor } from './system/supervisor.ts';
import { fileExists, type ServiceDefinition } from './system/service.ts';

const Mode = machinePb.ApplyConfigurationRequest_Mode;
const Stage = machinePb.MachineStatusEvent_MachineStage;

/** The API port apid (or the maintenance server) listens on. */
export const API_PORT = 50000;
/** trustd's port. */
export const TRUSTD_LISTEN_PORT = 50001;

/** Options of {@link TalosNode}. */
export interface NodeOptions {
  readonly platform: 'container' | 'metal';
  readonly stateDir: string;
  /** The node's address; apid and trustd listen on it. */
  readonly address: string;
  readonly logger?: Logger;
  /** API certificate lifetime (default 24 h); tests shorten it to watch rotation. */
  readonly apiCertLifetimeMs?: number;
  /** Restart interval of services (default 5 s as upstream). */
  readonly restartIntervalMs?: number;
  /** argv prefix starting apid and trustd; defaults to this checkout's bins under the same Node. */
  readonly apidCommand?: readonly string[];
  readonly trustdCommand?: readonly string[];
  /**
   * Starts apid's process at boot rather than once its certificates exist; it waits for them itself.
   * Under emulation its Node start-up (seconds) then overlaps the certificate issuance (metal sets it).
   */
  readonly prestartApid?: boolean;
  /** Node/V8 flags for the Node programs machined starts (metal passes its own, e.g. from talos.node.flags=). */
  readonly nodeFlags?: readonly string[];
  /** The etcd binary for control-plane nodes (default `etcd` on PATH) and etcdctl (snapshot restore). */
  readonly etcdPath?: string;
  readonly etcdctlPath?: string;
  /** etcd certificate lifetime (default 24 h, renewed at half-life). */
  readonly etcdCertLifetimeMs?: number;
  /** Where a joining control plane looks for etcd members; defaults to discovery Members + the endpoint host. */
  readonly etcdPeers?: ControlPlanePeerSource;
  /** Called once the machine has powered off (shutdown, or reset without reboot). */
  readonly onPowerOff?: () => void;
  /**
   * TTL of the affiliate data published to the discovery service (default 30 min as upstream);
   * tests shorten it to watch a dead node expire. machined reads TALOSTS_DISCOVERY_TTL_MS.
   */
  readonly discoveryTtlMs?: number;
  /** The hostname before the config names one (metal: talos.hostname= or ip=); default talos-<address>. */
  readonly defaultHostname?: string;
  /** containerd as a system service (metal; container mode with --containerd): its program and socket. */
  readonly containerd?: { readonly argv: readonly string[]; readonly socket: string };
  /** Restarts the machine after teardown (metal); without it a reboot re-runs the boot in-process. */
  readonly onReboot?: () => void;
  /**
   * The install step of the boot sequence (metal, booted live): installs to `machine.install.disk`
   * when needed; true when it did and the machine is restarting into the disk.
   */
  readonly onInstall?: (checked: CheckedConfig) => Promise<boolean>;
}

interface Cycle {
  readonly abort: AbortController;
  readonly state: InMemoryState;
  readonly runtime: Runtime;
  readonly runtimeDone: Promise<void>;
  readonly servers: RunningServer[];
  supervisor?: ServiceSupervisor;
  /** The local etcd member (control-plane nodes). */
  etcd?: EtcdManager;
  maintenance?: RunningServer | undefined;
  /** Set while in maintenance mode: hands an applied config to the waiting boot. */
  acceptConfig?: ((checked: CheckedConfig) => Promise<void>) | undefined;
}

/**
 * How to start a sibling program: from a bundle (dist/<name>.cjs beside this file, as in the image
 * and `npm run cluster`), else from the checkout's TypeScript bin.
 */
function bin(name: string): string {
  // dist/ has the CommonJS bundles; the image has <name>.cjs start files (its code-cache loader).
  const bundled = fileURLToPath(new URL(`./${name}.cjs`, import.meta.url));
  return existsSync(bundled) ? bundled : fileURLToPath(new URL(`../../${name}/bin/${name}.js`, import.meta.url));
}

/**
 * One Talos node: runs the Initialize → (Maintenance) → Boot sequence, owns the COSI state and
 * controllers, the service supervisor and the machine API on its unix socket. Reboot re-runs the
 * sequence in-process (the container platform has no kernel to restart); shutdown stops it.
 */
export class TalosNode implements AsyncDisposable {
  readonly paths: NodePaths;
  readonly events = new EventBus();
  readonly #options: NodeOptions;
  // Created once the state directory is locked: opening it writes to the directory.
  #log: ServiceLog | undefined;
  readonly #logger: Logger;
  readonly #store: ConfigStore;
  #bootFailure: string | undefined;
  #cycle: Cycle | undefined;
  #transition: Promise<void> = Promise.resolve();
  #try: { timer: NodeJS.Timeout; previous: string } | undefined;
  #poweredOff = false;

  constructor(options: NodeOptions) {
    this.#options = options;
    this.paths = nodePaths(options.stateDir);
    const base = options.logger ?? createLogger();
    // machined's own records also go to its log, so `talosctl logs machined` shows them.
    const mirror = createLogger({ level: 'debug', sink: (r: LogRecord) => this.#log?.append(JSON.stringify(r)) });
    this.#logger = tee(base, mirror).child({ node: options.address });
    this.#store = new ConfigStore({ paths: this.paths, logger: this.#logger });
  }

  /** The current boot cycle's state (for tests and the API). */
  get state(): InMemoryState {
    return this.#current().state;
  }

  /** The current supervisor, once the node has a config. */
  get supervisor(): ServiceSupervisor | undefined {
    return this.#cycle?.supervisor;
  }

  /** True while waiting for a config in maintenance mode. */
  get inMaintenance(): boolean {
    return this.#cycle?.maintenance !== undefined;
  }

  /**
   * Why the node did not boot its stored config (it then serves only its machine socket, and never
   * maintenance mode); undefined when it booted or waits for a config.
   */
  get bootFailure(): string | undefined {
    return this.#bootFailure;
  }

  /**
   * Boots the node; resolves once its API (maintenance or machine socket) is reachable. Throws
   * FailedPrecondition, before writing anything, when another machined holds the state directory.
   */
  async start(): Promise<void> {
    await mkdir(this.paths.root, { recursive: true, mode: 0o700 });
    this.#store.lock();
    this.#log ??= new ServiceLog('machined', { logDir: this.paths.logDir });
    await this.#schedule(() => this.#boot());
  }

  /** Powers the node off: stops services, controllers and servers. */
  async stop(): Promise<void> {
    await this.#schedule(() => this.#teardown());
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await this.#log?.[Symbol.asyncDispose]();
    this.#store.release();
  }

  #current(): Cycle {
    if (!this.#cycle) throw new TalosError(Code.Unavailable, 'node is not running');
    return this.#cycle;
  }

  // Transitions (boot, reboot, shutdown, reset) run one after another, never interleaved.
  #schedule(step: () => Promise<void>): Promise<void> {
    const next = this.#transition.then(step);
    this.#transition = next.catch((err: unknown) => this.#logger.error('transition failed', { error: err }));
    return next;
  }

  async #boot(): Promise<void> {
    if (this.#poweredOff) throw new TalosError(Code.FailedPrecondition, 'node is powered off');
    this.events.publish('machine.SequenceEvent', machineEvents.sequence('boot', true));
    for (const dir of [this.paths.root, this.paths.logDir, this.paths.varDir]) await mkdir(dir, { recursive: true, mode: 0o700 });
    this.#bootFailure = undefined;

    const state = new InMemoryState();
    registerTalosResources(state);
    state.create(newVersion({ version: TAG }));
    const runtime = new Runtime(state, { logger: this.#logger });
    runtime.register(
      new HostnameController({ defaultHostname: this.#options.defaultHostname ?? defaultHostname(this.#options.address) }),
      createMachineTypeController(),
      createNodenameController(),
      new ApiCertificatesController({
        addresses: [this.#options.address],
        ...(this.#options.apiCertLifetimeMs ? { lifetimeMs: this.#options.apiCertLifetimeMs } : {}),
      }),
      new EtcdCertificatesController({
        addresses: [this.#options.address],
        ...(this.#options.etcdCertLifetimeMs ? { lifetimeMs: this.#options.etcdCertLifetimeMs } : {}),
      }),
      new CertificateFilesController({ apiCertsDir: this.paths.apiCertsDir, trustdCertsDir: this.paths.trustdCertsDir, etcdCertsDir: this.paths.etcdCertsDir }),
      new NodeIdentityController({ path: this.paths.nodeIdentity }),
      createDiscoveryConfigController(),
      new LocalAffiliateController({ addresses: () => [this.#options.address] }),
      new DiscoveryServiceController(this.#options.discoveryTtlMs !== undefined ? { ttlMs: this.#options.discoveryTtlMs } : {}),
      new AffiliateMergeController(),
      createMemberController(),
    );
    // A container node's mount table is its host's; only a real machine publishes its own.
    if (this.#options.platform === 'metal') {
      runtime.register(new MountStatusController());
      runtime.register(new VolumeStatusController());
    }
    const abort = new AbortController();
    const cycle: Cycle = { abort, state, runtime, runtimeDone: runtime.run(abort.signal), servers: [] };
    this.#cycle = cycle;

    const socket = await serve({
      address: `unix:${this.paths.machinedSocket}`,
      services: this.#services((ctx) => principalFromMetadata(ctx.metadata)),
    });
    cycle.servers.push(socket);

    const stored = await this.#store.load();
    if (stored.kind === 'valid') await this.#enterBoot(cycle, stored.checked);
    else if (stored.kind === 'none') await this.#enterMaintenance(cycle);
    else this.#refuseBoot(stored.error.message);
  }

  /**
   * A stored config that does not load is not booted, and it does not open maintenance mode either
   * (that would hand an unauthenticated apply-config to anyone on the network). The node says why
   * on its log (the console on metal) and in its events, and serves only its machine socket. To
   * recover, replace the file, apply a config over the machine socket, or reset the node.
   */
  #refuseBoot(reason: string): void {
    this.#bootFailure = reason;
    this.#logger.error('refusing to boot: the stored configuration is invalid; not entering maintenance mode', {
      reason,
      recovery: 'replace the configuration file, apply a configuration over the machine socket, or reset the node',
    });
    this.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.BOOTING, false, [{ name: 'config', reason }]));
    this.events.publish('machine.SequenceEvent', machineEvents.sequence('boot', false, reason));
  }

  /** The active machine config's v1alpha1 document, if the node has one. */
  #activeConfig(): V1Alpha1Config | undefined {
    const active = this.#current().state.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    return active ? machineConfigOf(active).config : undefined;
  }

  #services(principal: (ctx: CallContext) => Principal): Served[] {
    return [
      {
        service: machinePb.MachineService,
        implementation: implement(machinePb.MachineService, { ...createMachineService(this.#backend()), ...createKubeconfigService({ activeConfig: () => this.#activeConfig() }) }, principal),
      },
      {
        service: cosiStatePb.State,
        implementation: implement(cosiStatePb.State, createStateService({ state: () => this.state, principal }), principal),
      },
      {
        service: inspectPb.InspectService,
        implementation: implement(inspectPb.InspectService, createInspectService(() => this.#current().runtime.controllers), principal),
      },
    ] as Served[];
  }

  async #enterMaintenance(cycle: Cycle): Promise<void> {
    this.#logger.info('no configuration: entering maintenance mode', { address: `${this.#options.address}:${API_PORT}` });
    this.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.MAINTENANCE, false));
    const key = await generateKey('ecdsa');
    const now = Date.now();
    const cert = createSelfSignedCa({
      key,
      subject: { commonName: 'maintenance-service' },
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 24 * 3600_000),
      ipAddresses: [this.#options.address],
    });
    const server = await serve({
      address: `${this.#options.address}:${API_PORT}`,
      tls: { certPem: cert.crtPem, keyPem: privateKeyToPkcs8Pem(key) },
      services: this.#services(() => ({ kind: 'maintenance' })),
    });
    cycle.maintenance = server;
    cycle.servers.push(server);
    cycle.acceptConfig = async (c) => {
      await this.#store.write(c.yaml);
      cycle.acceptConfig = undefined;
      // Answer the ApplyConfiguration call first, then leave maintenance mode.
      setImmediate(() => {
        void this.#schedule(async () => {
          if (this.#cycle !== cycle) return;
          await server.close();
          cycle.maintenance = undefined;
          await this.#enterBoot(cycle, c);
        });
      });
    };
  }

  async #enterBoot(cycle: Cycle, checked: CheckedConfig): Promise<void> {
    if (this.#options.onInstall && (await this.#options.onInstall(checked))) return;
    this.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.BOOTING, false));
    this.#setConfigResource(cycle, checked.yaml);
    const supervisor = new ServiceSupervisor({
      state: cycle.state,
      logger: this.#logger,
      logDir: this.paths.logDir,
      ...(this.#options.restartIntervalMs !== undefined ? { restartIntervalMs: this.#options.restartIntervalMs } : {}),
      onEvent: (id, e) => this.events.publish('machine.ServiceStateEvent', machineEvents.serviceState(id, e.state, e.message)),
    });
    cycle.supervisor = supervisor;
    supervisor.loadAndStart(...this.#serviceDefinitions(cycle, checked));
    this.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.RUNNING, true));
    this.events.publish('machine.SequenceEvent', machineEvents.sequence('boot', false));
  }

  #serviceDefinitions(cycle: Cycle, checked: CheckedConfig): ServiceDefinition[] {
    const address = this.#options.address;
    const controlPlane = ['controlplane', 'init'].includes(checked.config.config.machine?.type ?? '');
    const node = process.execPath;
    const flags = this.#options.nodeFlags ?? [];
    const apid: ServiceDefinition = {
      id: 'apid',
      ...(this.#options.prestartApid ? {} : { condition: fileExists(join(this.paths.apiCertsDir, 'server.crt')) }),
      runner: () =>
        createProcessRunner({
          argv: [
            ...(this.#options.apidCommand ?? [node, ...flags, bin('apid')]),
            '--listen', `${address}:${API_PORT}`,
            '--machined-socket', this.paths.machinedSocket,
            '--certs-dir', this.paths.apiCertsDir,
            '--node', address,
            ...(this.#options.prestartApid ? ['--wait-for-certs'] : []),
          ],
          gracePeriodMs: 5000,
        }),
      healthCheck: { check: (signal) => tcpReachable(address, API_PORT, signal), initialDelayMs: 200, periodMs: 2000, timeoutMs: 1000 },
    };
    const trustd: ServiceDefinition = {
      id: 'trustd',
      condition: fileExists(join(this.paths.trustdCertsDir, 'server.crt')),
      runner: () =>
        controlPlane
          ? createProcessRunner({
              argv: [...(this.#options.trustdCommand ?? [node, ...flags, bin('trustd')]), '--listen', `${address}:${TRUSTD_LISTEN_PORT}`, '--certs-dir', this.paths.trustdCertsDir],
              gracePeriodMs: 5000,
            })
          : undefined,
      healthCheck: { check: (signal) => tcpReachable(address, TRUSTD_LISTEN_PORT, signal), initialDelayMs: 200, periodMs: 2000, timeoutMs: 1000 },
    };
    const services: ServiceDefinition[] = controlPlane ? [apid, trustd] : [apid];
    const ctr = this.#options.containerd;
    if (ctr) {
      services.push({
        id: 'containerd',
        runner: () => createProcessRunner({ argv: [...ctr.argv], gracePeriodMs: 10_000 }),
        healthCheck: { check: (signal) => grpcHealthCheck(`unix://${ctr.socket}`, signal), initialDelayMs: 500, periodMs: 5000, timeoutMs: 3000 },
      });
    }
    if (!controlPlane) return services;
    cycle.etcd = new EtcdManager({
      address,
      hostname: () => this.#hostname(cycle).hostname,
      certsDir: this.paths.etcdCertsDir,
      dataDir: this.paths.etcdDataDir,
      recoverSnapshotPath: this.paths.etcdRecoverSnapshot,
      peers: this.#options.etcdPeers ?? createStatePeerSource({ state: () => (this.#cycle === cycle ? cycle.state : undefined), self: [address] }),
      supervisor: () => cycle.supervisor,
      logger: this.#logger.child({ component: 'etcd' }),
      ...(this.#options.etcdPath !== undefined ? { etcdPath: this.#options.etcdPath } : {}),
      ...(this.#options.etcdctlPath !== undefined ? { etcdctlPath: this.#options.etcdctlPath } : {}),
    });
    return [...services, cycle.etcd.definition()];
  }

  #hostname(cycle: Cycle | undefined): HostnameStatusSpec {
    const h = cycle?.state.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId });
    return h?.spec ?? { hostname: this.#options.defaultHostname ?? defaultHostname(this.#options.address), domainname: '' };
  }

  #setConfigResource(cycle: Cycle, yaml: string): void {
    cycle.state.modify<MachineConfigSpec>(
      { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId },
      (d) => {
        d.spec = { yaml };
      },
      { initial: newMachineConfig(ActiveMachineConfigId, { yaml }).spec },
    );
  }

  async #teardown(): Promise<void> {
    const cycle = this.#cycle;
    if (!cycle) return;
    this.events.publish('machine.SequenceEvent', machineEvents.sequence('shutdown', true));
    if (this.#try) clearTimeout(this.#try.timer);
    this.#try = undefined;
    await cycle.supervisor?.stopAll();
    await cycle.supervisor?.[Symbol.asyncDispose]();
    await Promise.all(cycle.servers.map((s) => s.close()));
    cycle.abort.abort();
    await cycle.runtimeDone;
    this.#cycle = undefined;
    this.events.publish('machine.SequenceEvent', machineEvents.sequence('shutdown', false));
  }

  #powerOff(): void {
    this.#poweredOff = true;
    this.#logger.info('powered off');
    this.#options.onPowerOff?.();
  }

  /**
   * Applies a config per upstream's modes; throws InvalidArgument (nothing changed) for a bad one.
   * Applies take turns: each reads the running config, writes and applies as one step.
   */
  applyConfiguration(request: { yaml: string; mode: machinePb.ApplyConfigurationRequest_Mode; dryRun: boolean; tryTimeoutMs: number }): Promise<ApplyResult> {
    return this.#store.exclusive(() => this.#apply(request));
  }

  async #apply(request: { yaml: string; mode: machinePb.ApplyConfigurationRequest_Mode; dryRun: boolean; tryTimeoutMs: number }): Promise<ApplyResult> {
    const cycle = this.#current();
    const checked = checkConfig(request.yaml);
    const warnings = checked.warnings;
    if (cycle.acceptConfig) {
      if (request.dryRun) return { mode: request.mode, details: `Dry run summary:\nNode is in maintenance mode; the configuration would be applied and the node would boot.`, warnings };
      await cycle.acceptConfig(checked);
      return { mode: request.mode, details: 'Applied configuration, leaving maintenance mode', warnings };
    }
    const active = cycle.state.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
    const current = active ? machineConfigOf(active) : undefined;
    const reboot = needsReboot(current, checked.config);
    let mode = request.mode;
    if (mode === Mode.AUTO) mode = reboot ? Mode.REBOOT : Mode.NO_REBOOT;
    if ((mode === Mode.NO_REBOOT || mode === Mode.TRY) && reboot) {
      throw new TalosError(Code.FailedPrecondition, 'this configuration change requires a reboot; use --mode=reboot, --mode=auto or --mode=staged');
    }
    const diff = lineDiff(active?.spec.yaml ?? '', checked.yaml);
    if (request.dryRun) {
      return { mode, details: `Dry run summary:\n${describe(mode, request.tryTimeoutMs)} (skipped in dry-run).\n\nConfig diff:\n\n${diff}`, warnings };
    }
    if (mode !== Mode.TRY && this.#try) {
      clearTimeout(this.#try.timer);
      this.#try = undefined;
    }
    switch (mode) {
      case Mode.STAGED:
        await this.#store.stage(checked.yaml);
        break;
      case Mode.REBOOT:
        await this.#store.write(checked.yaml);
        setImmediate(() => this.reboot());
        break;
      case Mode.NO_REBOOT:
        await this.#store.write(checked.yaml);
        this.#setConfigResource(cycle, checked.yaml);
        break;
      case Mode.TRY: {
        // Not persisted: a reboot, or the timer, brings back the config on disk.
        const previous = this.#try?.previous ?? active?.spec.yaml ?? '';
        if (this.#try) clearTimeout(this.#try.timer);
        const timer = setTimeout(() => {
          this.#try = undefined;
          if (this.#cycle !== cycle) return;
          this.#logger.info('try mode timeout: reverting to the previous configuration');
          this.#setConfigResource(cycle, previous);
        }, request.tryTimeoutMs);
        timer.unref();
        this.#try = { timer, previous };
        this.#setConfigResource(cycle, checked.yaml);
        break;
      }
      default:
        throw new TalosError(Code.InvalidArgument, `unknown apply mode ${String(mode)}`);
    }
    this.#logger.info('configuration applied', { mode: Mode[mode] });
    return { mode, details: describe(mode, request.tryTimeoutMs), warnings };
  }

  /** Restarts the boot sequence in-process (after the API call that asked for it has answered). */
  reboot(): void {
    void this.#schedule(async () => {
      this.events.publish('machine.SequenceEvent', machineEvents.sequence('reboot', true));
      await this.#teardown();
      if (this.#options.onReboot) this.#options.onReboot();
      else await this.#boot();
    });
  }

  /** Stops everything and powers off. */
  shutdown(): void {
    void this.#schedule(async () => {
      await this.#teardown();
      this.#powerOff();
    });
  }

  /**
   * Wipes the node's state (config, secrets, data) and reboots into maintenance mode or powers off.
   * A graceful reset of an etcd member leaves the cluster first; if that fails nothing is wiped.
   */
  async reset(options: { graceful: boolean; reboot: boolean }): Promise<void> {
    const etcd = this.#cycle?.etcd;
    if (options.graceful && etcd && (await etcd.hasData())) await etcd.leave();
    void this.#schedule(async () => {
      await this.#teardown();
      await this.#store.exclusive(() => this.#store.wipe());
      for (const p of [join(this.paths.root, 'system'), join(this.paths.varDir, 'lib')]) await rm(p, { recursive: true, force: true });
      this.#logger.info('node reset: state wiped', { graceful: options.graceful });
      if (options.reboot) await this.#boot();
      else this.#powerOff();
    });
  }

  #backend(): MachineBackend {
    return {
      events: this.events,
      hostname: () => fqdn(this.#hostname(this.#cycle)),
      platform: () => (this.#options.platform === 'metal' ? { ...metalPlatform } : { ...containerPlatform }),
      supervisor: () => this.#cycle?.supervisor,
      log: (id) => (id === 'machined' ? this.#log : this.#cycle?.supervisor?.list().some((s) => s.id === id) ? this.#cycle.supervisor.logs(id) : undefined),
      memInfo: () => readMemInfo(),
      kernelLog: (o) => kernelLogLines(o),
      applyConfiguration: (r) => this.applyConfiguration(r),
      reboot: () => this.reboot(),
      shutdown: () => this.shutdown(),
      reset: (o) => this.reset(o),
      etcd: (what) => {
        const etcd = this.#cycle?.etcd;
        if (!etcd) throw new TalosError(Code.Unimplemented, `${what} is only available on control plane nodes`);
        return etcd;
      },
      containerdSocket: () => this.#options.containerd?.socket,
      generateClientConfiguration: async (roles, ttlMs) => {
        const active = this.#current().state.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
        const cfg = active ? machineConfigOf(active).config : undefined;
        const decode = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');
        const caPem = decode(cfg?.machine?.ca?.crt);
        const caKey = decode(cfg?.machine?.ca?.key);
        if (!cfg || caKey === '') throw new TalosError(Code.FailedPrecondition, 'client configuration can only be generated on control plane nodes');
        const pair = await generateClientCertificate({ osCa: { crt: caPem, key: caKey }, roles, validitySeconds: Math.floor(ttlMs / 1000) });
        const talosconfig = newTalosconfig(cfg.cluster?.clusterName ?? 'talos', { endpoints: [this.#options.address], caPem, crtPem: pair.crt, keyPem: pair.key });
        return { ca: caPem, crt: pair.crt, key: pair.key, talosconfig: serializeTalosconfig(talosconfig) };
      },
    };
  }
}

function describe(mode: machinePb.ApplyConfigurationRequest_Mode, tryTimeoutMs: number): string {
  switch (mode) {
    case Mode.REBOOT:
      return 'Applied configuration with a reboot';
    case Mode.STAGED:
      return 'Staged configuration to be applied after the next reboot';
    case Mode.TRY:
      return `The config is applied in 'try' mode and will be automatically reverted back in ${Math.round(tryTimeoutMs / 1000)}s`;
    default:
      return 'Applied configuration without a reboot';
  }
}

/** Health check: something accepts TCP connections on host:port. */
function tcpReachable(host: string, port: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const done = (err?: Error): void => {
      socket.destroy();
      signal.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onAbort = (): void => done(new Error('health check aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    socket.once('connect', () => done());
    socket.once('error', (err) => done(err));
  });
}

function tee(a: Logger, b: Logger): Logger {
  return {
    debug: (m, f) => (a.debug(m, f), b.debug(m, f)),
    info: (m, f) => (a.info(m, f), b.info(m, f)),
    warn: (m, f) => (a.warn(m, f), b.warn(m, f)),
    error: (m, f) => (a.error(m, f), b.error(m, f)),
    child: (f) => tee(a.child(f), b.child(f)),
  };
}

/** The kernel log as `talosctl dmesg` lines; `onlyNew` skips what was buffered before the call. */
async function* kernelLogLines(options: { follow: boolean; onlyNew: boolean; signal: AbortSignal }): AsyncGenerator<string> {
  if (!options.follow) {
    let records: KernelRecord[] | undefined;
    try {
      records = readKernelLogBuffer();
    } catch {
      // No addon (container platform in a checkout without a build): fall back to /dev/kmsg.
    }
    if (records) {
      // One message for the whole buffer: long streams of small messages were seen cut short
      // (~375 messages) on their way through apid; see the report of issue 7.
      if (!options.onlyNew && records.length > 0) yield records.map(formatKernelRecord).join('\n');
      return;
    }
  }
  let after = -1;
  if (options.onlyNew) for await (const r of readKernelLog({ follow: false, signal: options.signal })) after = r.seq;
  for await (const r of readKernelLog({ follow: options.follow, signal: options.signal })) {
    if (r.seq > after) yield formatKernelRecord(r);
  }
}
