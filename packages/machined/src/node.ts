import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, createLogger, TalosError, type InMemoryState, type Logger, type LogRecord } from '@talos-ts/cosi';
import { newUpgradeStatus, nodePaths, type BootSlot, type NodePaths, type UpgradeAttempt } from '@talos-ts/machinery';
import { machineEvents } from './events/machine-events.ts';
import { EventBus } from './events/bus.ts';
import type { NodeOptions } from './node-options.ts';
import { applyConfiguration, type ApplyRequest } from './sequencer/apply-config.ts';
import { ConfigStore } from './sequencer/config-store.ts';
import { MachineRuntime } from './sequencer/runtime.ts';
import { Sequencer } from './sequencer/sequencer.ts';
import { bootSequence, initializeSequence, installSequence, rebootSequence, resetSequence, shutdownSequence, stageUpgradeSequence, upgradeSequence, type ResetOptions } from './sequencer/sequences.ts';
import { stageUpgrade, takeStagedUpgrade } from './sequencer/staged-upgrade.ts';
import { checkResetOptions } from './sequencer/tasks/reset.ts';
import { fetchInstallAssets, INSTALL_KERNEL_ARGS, type FetchedInstaller } from './sequencer/install.ts';
import { createMachineBackend, machineApi, type UpgradeCall } from './server/machine-backend.ts';
import { claimEtcdForUpgrade, returnEtcdClaim } from './sequencer/upgrade-etcd.ts';
import { UpgradeGate } from './sequencer/upgrade-gate.ts';
import type { ApplyResult } from './server/machine-service.ts';
import { ServiceLog } from './system/log.ts';
import { teeLogger } from './system/log-tee.ts';
import type { ServiceSupervisor } from './system/supervisor.ts';

export type { NodeOptions } from './node-options.ts';

/**
 * One Talos node, composed of its runtime (state, cycle, config store), the sequencer that runs
 * upstream's sequences over it (Initialize → Install → Boot; Reboot, Shutdown, Reset), and the
 * machine API backend. A reboot re-runs the boot in-process unless the platform restarts the
 * machine (metal's onReboot).
 */
export class TalosNode implements AsyncDisposable {
  readonly paths: NodePaths;
  readonly events = new EventBus();
  readonly #options: NodeOptions;
  // Created once the state directory is locked: opening it writes to the directory.
  #log: ServiceLog | undefined;
  readonly #logger: Logger;
  readonly #store: ConfigStore;
  readonly #runtime: MachineRuntime;
  readonly #sequencer: Sequencer<MachineRuntime>;
  /** One upgrade at a time, from the API call on (the sequencer's lock comes only after the fetch). */
  readonly #upgrades = new UpgradeGate();
  /** stop() was called: a boot that a reboot had started goes no further. */
  #stopped = false;

  constructor(options: NodeOptions) {
    this.#options = options;
    this.paths = nodePaths(options.stateDir);
    const base = options.logger ?? createLogger();
    // machined's own records also go to its log, so `talosctl logs machined` shows them.
    const mirror = createLogger({ level: 'debug', sink: (r: LogRecord) => this.#log?.append(JSON.stringify(r)) });
    this.#logger = teeLogger(base, mirror).child({ node: options.address });
    this.#store = new ConfigStore({ paths: this.paths, logger: this.#logger });
    const r: MachineRuntime = new MachineRuntime({
      options,
      paths: this.paths,
      events: this.events,
      store: this.#store,
      logger: this.#logger,
      machinedLog: () => this.#log,
      hooks: {
        served: (principal) => machineApi(r, backend, principal, { rollback: () => this.rollback(), upgrade: (o) => this.upgrade(o) }),
        configReceived: () => void this.#installAndBoot().catch((err: unknown) => this.#logger.error('boot failed', { error: err })),
      },
    });
    const backend = createMachineBackend(r, {
      applyConfiguration: (req) => this.applyConfiguration(req),
      reboot: () => this.reboot(),
      rollback: () => this.rollback(),
      upgrade: (o) => this.upgrade(o),
      shutdown: () => this.shutdown(),
      reset: (o) => this.reset(o),
    });
    this.#runtime = r;
    this.#sequencer = new Sequencer(r, { publish: (type, payload) => this.events.publish(type, payload), logger: this.#logger });
  }

  /** The current boot cycle's state (for tests and the API). */
  get state(): InMemoryState {
    return this.#runtime.current().state;
  }

  /** The current supervisor, once the node has a config. */
  get supervisor(): ServiceSupervisor | undefined {
    return this.#runtime.cycle?.supervisor;
  }

  /** True while waiting for a config in maintenance mode. */
  get inMaintenance(): boolean {
    return this.#runtime.cycle?.maintenance !== undefined;
  }

  /**
   * Why the node did not boot its stored config (it then serves only its machine socket, and never
   * maintenance mode); undefined when it booted or waits for a config.
   */
  get bootFailure(): string | undefined {
    return this.#runtime.bootFailure;
  }

  /**
   * Boots the node; resolves once its API (maintenance or machine socket) is reachable. Throws
   * FailedPrecondition, before writing anything, when another machined holds the state directory.
   */
  async start(): Promise<void> {
    await mkdir(this.paths.root, { recursive: true, mode: 0o700 });
    this.#store.lock();
    this.#log ??= new ServiceLog('machined', { logDir: this.paths.logDir });
    this.#stopped = false;
    await this.#boot();
  }

  /** Stops services, controllers and servers (a shutdown that takes over whatever runs), without powering off. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (!this.#runtime.cycle && this.#sequencer.running === undefined) return;
    await this.#sequencer.run('shutdown', () => shutdownSequence({ powerOff: false }), { takeover: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
    await this.#log?.[Symbol.asyncDispose]();
    this.#store.release();
  }

  /** Applies a config per upstream's modes (see apply-config.ts); applies take turns. */
  applyConfiguration(request: ApplyRequest): Promise<ApplyResult> {
    const reboot = (): void => void this.reboot().catch((err: unknown) => this.#logger.error('reboot not started', { error: err }));
    return this.#store.exclusive(() => applyConfiguration(this.#runtime, request, { reboot }));
  }

  /** Starts the reboot sequence; rejects when another sequence may not be interrupted (unless `takeover`, as for Ctrl-Alt-Del). */
  async reboot(options: { takeover?: boolean } = {}): Promise<void> {
    const started = await this.#sequencer.start('reboot', () => rebootSequence(), options);
    void this.#finish(started.done);
  }

  /**
   * Rollback, in upstream's order: the other slot becomes the default boot, then the reboot sequence
   * starts. If the reboot is refused (another sequence holds the lock) the flip stays for the next boot.
   */
  async rollback(): Promise<void> {
    if (!this.#options.rollbackBoot) throw new TalosError(Code.FailedPrecondition, 'rollback: this node has no A/B boot slots');
    this.#options.rollbackBoot();
    await this.reboot();
  }

  /**
   * Upgrade: fetches the image directory and checks its digests first (a bad image fails here and
   * nothing is written); a control plane then takes the etcd upgrade claim, after checking etcd
   * can lose it (sequencer/upgrade-etcd.ts); then the upgrade sequence runs, which the lock
   * refuses while another runs. A second upgrade asked before the first ended is refused at once
   * (UpgradeInProgressError, FailedPrecondition), fetching nothing. Resolves with the sequence's actor id.
   */
  async upgrade(order: UpgradeCall): Promise<string> {
    const write = this.#options.upgradeBoot;
    if (!write) throw new TalosError(Code.FailedPrecondition, 'upgrade: this node has no A/B boot slots');
    const actorId = randomUUID();
    const turn = this.#upgrades.enter(actorId, order.url, order.stage ? 'staging' : 'fetching the installer');
    try {
      // A reboot, reset or shutdown under way would refuse the sequence: refuse before the download.
      this.#sequencer.checkStartable(order.stage ? 'stageUpgrade' : 'upgrade');
    } catch (err) {
      turn.release();
      throw err;
    }
    if (order.stage) {
      try {
        return await this.#stageUpgrade(order, actorId);
      } finally {
        turn.release();
      }
    }
    const dir = mkdtempSync(join(tmpdir(), 'upgrade-'));
    const preserve = order.preserve ?? false;
    try {
      const assets = await this.#fetchInstaller(order.url, dir);
      // A BOOT too small for the new slot fails the call here, before etcd is left or anything is written.
      this.#options.checkUpgradeBoot?.(this.#slotFiles(assets));
      turn.step('checking etcd');
      const claim = await claimEtcdForUpgrade(this.#runtime, { preserve, force: order.force ?? false, actorId, signal: order.signal ?? new AbortController().signal });
      const cycle = this.#runtime.cycle;
      const giveBack = (): Promise<void> => (claim && cycle ? returnEtcdClaim(this.#runtime, claim, cycle.abort.signal) : Promise.resolve());
      const started = await this.#sequencer.start('upgrade', () => upgradeSequence({ write: () => write(this.#slotFiles(assets)), preserve, ...(order.signal ? { replied: order.signal } : {}) })).catch(async (err: unknown) => {
        await giveBack();
        throw err;
      });
      const done = started.done.catch(async (err: unknown) => {
        await giveBack();
        throw err;
      });
      turn.step('running the upgrade sequence');
      void this.#finish(
        done.finally(() => {
          rmSync(dir, { recursive: true, force: true });
          turn.release();
        }),
      );
      this.#logger.info('upgrade started', { actorId, image: order.url, preserve });
      return actorId;
    } catch (err) {
      rmSync(dir, { recursive: true, force: true });
      turn.release();
      throw err;
    }
  }

  // upgrade --stage: the image and options go into META and the node reboots; the upgrade itself
  // runs at the next boot (#stagedUpgrade), as upstream's StageUpgrade sequence.
  async #stageUpgrade(order: { url: string; preserve?: boolean; force?: boolean }, actorId: string): Promise<string> {
    stageUpgrade(this.#runtime.meta, { image: order.url, options: { preserve: order.preserve === true, force: order.force === true } });
    const started = await this.#sequencer.start('stageUpgrade', () => stageUpgradeSequence());
    void this.#finish(started.done);
    this.#logger.info('upgrade staged for the next boot', { actorId, image: order.url });
    return actorId;
  }

  // At boot, before install and boot: a staged upgrade fetches its image, writes the inactive slot
  // and reboots into it. Its META tags are gone before it starts, so a failure boots the current
  // version (true: the machine is restarting into the new one).
  async #stagedUpgrade(): Promise<boolean> {
    const write = this.#options.upgradeBoot;
    let staged;
    try {
      staged = takeStagedUpgrade(this.#runtime.meta);
    } catch (err) {
      this.#logger.error('staged upgrade not run: META could not be updated', { error: err });
      return false;
    }
    if (!staged || !write) return false;
    this.#logger.info('running the staged upgrade', { image: staged.image });
    const dir = mkdtempSync(join(tmpdir(), 'upgrade-'));
    let ok = true;
    try {
      const assets = await this.#fetchInstaller(staged.image, dir);
      const started = await this.#sequencer.start('upgrade', () => upgradeSequence({ write: () => write(this.#slotFiles(assets)) }));
      await this.#finish(started.done.catch((err: unknown) => ((ok = false), Promise.reject(err))));
    } catch (err) {
      ok = false;
      this.#logger.error('staged upgrade failed; booting the current version', { error: err });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return ok;
  }

  // The installer of an upgrade (an image reference or an image directory URL), checked against
  // the key this image trusts and the manifest's digests before anything is written.
  #fetchInstaller(image: string, dir: string): Promise<FetchedInstaller> {
    const mirrors = this.#runtime.cycle?.config?.config.config.machine?.registries?.mirrors;
    const containerdSocket = this.#options.containerd?.socket;
    return fetchInstallAssets(image, dir, { trustedKeyPem: this.#options.trustedImageKey?.(), signal: AbortSignal.timeout(10 * 60_000), ...(mirrors ? { mirrors } : {}), ...(containerdSocket ? { containerdSocket } : {}), logger: this.#logger });
  }

  // As an install: the base kernel arguments, the image's own, then the config's machine.install.extraKernelArgs.
  #slotFiles(assets: FetchedInstaller): FetchedInstaller & { readonly cmdline: string[] } {
    const fromConfig = this.#runtime.cycle ? (this.#runtime.activeConfig()?.machine?.install?.extraKernelArgs ?? []) : [];
    return { ...assets, cmdline: [...new Set([...INSTALL_KERNEL_ARGS, ...assets.extraKernelArgs, ...fromConfig])] };
  }

  /**
   * Reports how this boot settled the A/B slots (metal booted from disk, once the slot is marked
   * good): the UpgradeStatus resource, and for an upgrade whose slot never came up, a failed
   * `upgrade` SequenceEvent as the sequence's own would have been, had it survived the reboot.
   */
  reportBootSettled(report: { slot: BootSlot; attempt?: UpgradeAttempt }): void {
    const { attempt } = report;
    const spec = {
      bootedSlot: report.slot,
      lastUpgrade: attempt ? (attempt.booted ? 'booted' : 'failed') : 'none',
      lastUpgradeSlot: attempt?.slot ?? '',
      lastUpgradeVersion: attempt?.version ?? '',
    } as const;
    const state = this.#runtime.cycle?.state;
    if (state) {
      const resource = newUpgradeStatus(spec);
      if (state.find(resource.metadata)) state.destroy(resource.metadata);
      state.create(resource);
    }
    if (attempt && !attempt.booted) {
      const message = `upgrade to ${attempt.version || 'a new version'} in slot ${attempt.slot} did not boot; rolled back to slot ${report.slot}`;
      this.#logger.error('upgrade rolled back automatically', { failedSlot: attempt.slot, version: attempt.version, bootedSlot: report.slot });
      this.events.publish('machine.SequenceEvent', machineEvents.sequenceError('upgrade', 'fatal', message));
    }
  }

  /** Starts the shutdown sequence, which takes over whatever runs, and powers off. */
  async shutdown(): Promise<void> {
    const started = await this.#sequencer.start('shutdown', () => shutdownSequence({ powerOff: true }), { takeover: true });
    void this.#finish(started.done);
  }

  /**
   * Wipes the node's state (config, secrets, data) and reboots into maintenance mode or powers off.
   * Resolves once the reset goes ahead: a graceful reset of an etcd member leaves the cluster
   * first, and when that fails this rejects and nothing is wiped.
   */
  async reset(options: ResetOptions): Promise<void> {
    checkResetOptions(options);
    let accepted!: () => void;
    let refused!: (err: unknown) => void;
    const ack = new Promise<void>((resolve, reject) => ((accepted = resolve), (refused = reject)));
    const started = await this.#sequencer.start('reset', () => resetSequence({ ...options, accepted }));
    void this.#finish(started.done.catch((err: unknown) => (refused(err), Promise.reject(err))));
    await ack;
  }

  // Initialize, then Install and Boot when the node has a config (else it waits in maintenance mode).
  // A stored config that does not load fails Initialize on purpose; the node stays up to say why.
  async #boot(): Promise<void> {
    if (this.#stopped) return;
    try {
      await this.#sequencer.run('initialize', () => initializeSequence(this.#runtime));
    } catch (err) {
      if (this.#runtime.bootFailure !== undefined) return;
      throw err;
    }
    if (this.#runtime.cycle?.config) await this.#installAndBoot();
  }

  async #installAndBoot(): Promise<void> {
    if (this.#stopped) return;
    if (await this.#stagedUpgrade()) return;
    if (installSequence(this.#runtime).phases.length > 0) await this.#sequencer.run('install', () => installSequence(this.#runtime));
    // Installed: the machine is restarting into its disk.
    if (this.#runtime.halted) return;
    await this.#sequencer.run('boot', () => bootSequence(this.#runtime));
  }

  // After a power sequence: what its reboot or shutdown task asked for (upstream's reboot errors).
  async #finish(done: Promise<void>): Promise<void> {
    try {
      await done;
    } catch {
      return; // the sequencer logged and published why
    }
    const power = this.#runtime.power;
    this.#runtime.power = undefined;
    if (power === 'poweroff') {
      this.#runtime.halted = true;
      this.#logger.info('powered off');
      this.#options.onPowerOff?.();
    } else if (power === 'reboot') {
      if (this.#options.onReboot) this.#options.onReboot();
      else await this.#boot().catch((err: unknown) => this.#logger.error('boot failed', { error: err }));
    }
  }
}
