import { Code, TalosError, type InMemoryState, type Logger, type Resource, type Runtime } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  HostnameId,
  HostnameStatusType,
  MachineConfigType,
  NamespaceName,
  newMachineConfig,
  type CallContext,
  type HostnameStatusSpec,
  type MachineConfigSpec,
  type NodePaths,
  type V1Alpha1Config,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../controllers/config/parse.ts';
import { metaPartition } from '../linux/meta-partition.ts';
import { MetaStore } from '../meta/store.ts';
import type { EtcdManager } from '../etcd/etcd.ts';
import type { SharedAddressRelease } from '../controllers/network/operator-vip.ts';
import type { EventBus } from '../events/bus.ts';
import type { NodeOptions } from '../node-options.ts';
import { defaultHostname } from '../platform/container.ts';
import type { Principal } from '../server/authz.ts';
import type { RunningServer, Served } from '../server/serve.ts';
import type { ServiceLog } from '../system/log.ts';
import type { ServiceSupervisor } from '../system/supervisor.ts';
import type { CheckedConfig } from './apply.ts';
import type { ConfigStore } from './config-store.ts';

/**
 * One life of the machine between a boot and the next reboot: its COSI state and controllers, its
 * servers, and (once configured) its supervisor. The container platform has no kernel to restart,
 * so a reboot ends a cycle and starts a new one in the same process.
 */
export interface Cycle {
  readonly abort: AbortController;
  readonly state: InMemoryState;
  readonly runtime: Runtime;
  readonly runtimeDone: Promise<void>;
  readonly servers: RunningServer[];
  supervisor?: ServiceSupervisor;
  /** The local etcd member (control-plane nodes). */
  etcd?: EtcdManager;
  /** Drops the shared (VIP) addresses this node holds; run before services stop. */
  readonly sharedAddresses?: SharedAddressRelease;
  /** The config this cycle boots (loaded in Initialize, or received in maintenance mode). */
  config?: CheckedConfig;
  maintenance?: RunningServer | undefined;
  /** Set while in maintenance mode: hands an applied config to the node. */
  acceptConfig?: ((checked: CheckedConfig) => Promise<void>) | undefined;
}

/** What a power task asks the node to do once its sequence ended (upstream's reboot errors). */
export type PowerIntent = 'reboot' | 'poweroff';

/** What the node gives its runtime to act on (set once, by the node). */
export interface RuntimeHooks {
  /** The machine API's services, authorized with `principal`. */
  served(principal: (ctx: CallContext) => Principal): Served[];
  /** A config was applied in maintenance mode: the node goes on with install and boot. */
  configReceived(): void;
}

/**
 * The node's runtime, as upstream's runtime.Runtime: what sequences and their tasks read and change
 * (options, paths, state directory, current cycle, events, logger). It owns no behaviour of its
 * own beyond lookups; the tasks in tasks/ do the work.
 */
export class MachineRuntime {
  readonly options: NodeOptions;
  readonly paths: NodePaths;
  readonly events: EventBus;
  readonly store: ConfigStore;
  readonly logger: Logger;
  readonly hooks: RuntimeHooks;
  /** META: on the META partition when the node booted from its disk, else in memory (it outlives cycles). */
  readonly meta: MetaStore;
  readonly #machinedLog: () => ServiceLog | undefined;
  cycle: Cycle | undefined;
  /** Why the stored config was not booted (see the loadConfig task). */
  bootFailure: string | undefined;
  /** A config applied in try mode, with its revert timer and the config it reverts to. */
  tryConfig: { timer: NodeJS.Timeout; previous: string } | undefined;
  /** Set by the reboot and shutdown tasks; the node acts on it once the sequence ended. */
  power: PowerIntent | undefined;
  /** The machine powered off, was stopped, or is restarting into the disk it installed: nothing boots it again here. */
  halted = false;

  constructor(o: { options: NodeOptions; paths: NodePaths; events: EventBus; store: ConfigStore; logger: Logger; hooks: RuntimeHooks; machinedLog: () => ServiceLog | undefined }) {
    this.options = o.options;
    this.paths = o.paths;
    this.events = o.events;
    this.store = o.store;
    this.logger = o.logger;
    this.hooks = o.hooks;
    this.meta = new MetaStore({ logger: o.logger, ...(o.options.metaPartition ? { device: metaPartition(o.options.metaPartition) } : {}) });
    this.#machinedLog = o.machinedLog;
  }

  /** machined's own log (`talosctl logs machined`), once the state directory is locked. */
  get machinedLog(): ServiceLog | undefined {
    return this.#machinedLog();
  }

  /** The current cycle; Unavailable between a teardown and the next boot. */
  current(): Cycle {
    if (!this.cycle) throw new TalosError(Code.Unavailable, 'node is not running');
    return this.cycle;
  }

  /** The active machine config's resource, if the node runs one. */
  activeConfigResource(cycle: Cycle | undefined = this.cycle): Resource<MachineConfigSpec> | undefined {
    return cycle?.state.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
  }

  /** The active machine config's v1alpha1 document, if the node has one. */
  activeConfig(): V1Alpha1Config | undefined {
    const active = this.activeConfigResource(this.current());
    return active ? machineConfigOf(active).config : undefined;
  }

  /** The node's hostname status, or its default before the controller published one. */
  hostname(cycle: Cycle | undefined = this.cycle): HostnameStatusSpec {
    const h = cycle?.state.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId });
    return h?.spec ?? { hostname: this.options.defaultHostname ?? defaultHostname(this.options.address), domainname: '' };
  }

  /** Makes `yaml` the active machine config resource the controllers act on. */
  setConfigResource(cycle: Cycle, yaml: string): void {
    cycle.state.modify<MachineConfigSpec>(
      { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId },
      (d) => {
        d.spec = { yaml };
      },
      { initial: newMachineConfig(ActiveMachineConfigId, { yaml }).spec },
    );
  }

  /** Stops a pending try-mode revert (a new apply or a teardown supersedes it). */
  clearTry(): void {
    if (this.tryConfig) clearTimeout(this.tryConfig.timer);
    this.tryConfig = undefined;
  }
}
