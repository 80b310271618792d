import { Code, TalosError } from '@talos-ts/cosi';
import { cosiStatePb, fqdn, generateClientCertificate, inspectPb, machinePb, newTalosconfig, serializeTalosconfig, timePb, type CallContext } from '@talos-ts/machinery';
import { DEFAULT_NTP_SERVER } from '../controllers/time/sync.ts';
import { kernelLogLines } from '../linux/kmsg.ts';
import { readMemInfo } from '../linux/meminfo.ts';
import { ntpExchange } from '../linux/ntp-exchange.ts';
import { containerPlatform } from '../platform/container.ts';
import { metalPlatform } from '../platform/metal.ts';
import type { ApplyRequest } from '../sequencer/apply-config.ts';
import type { MachineRuntime } from '../sequencer/runtime.ts';
import type { ResetOptions } from '../sequencer/sequences.ts';
import type { Principal } from './authz.ts';
import { implement } from './implement.ts';
import { createInspectService } from './inspect-service.ts';
import { createKubeconfigService } from './kubeconfig-service.ts';
import { createMachineService, type ApplyResult, type MachineBackend } from './machine-service.ts';
import { createMetaService } from './meta-service.ts';
import type { Served } from './serve.ts';
import { createStateService } from './state-service.ts';
import { createTimeService } from './time-service.ts';
import { createUpgradeService } from './upgrade-service.ts';
import { queryServer } from '../timed/sync.ts';

/** An Upgrade call as the node acts on it: the image directory, upstream's flags, the request's signal. */
export interface UpgradeCall {
  readonly url: string;
  /** upgrade --stage: keep the order in META and upgrade at the next boot. */
  readonly stage?: boolean;
  readonly preserve?: boolean;
  readonly force?: boolean;
  readonly signal?: AbortSignal;
}

/** The node's actions the API starts (they run sequences); everything else the backend reads from the runtime. */
export interface MachineActions {
  applyConfiguration(request: ApplyRequest): Promise<ApplyResult>;
  reboot(): Promise<void>;
  /** Flips the default boot slot and starts the reboot (metal booted from disk). */
  rollback(): Promise<void>;
  /**
   * Fetches and verifies the installer (`url`: an image directory URL or an OCI reference), checks etcd (control planes), then starts the upgrade
   * sequence; resolves with its actor id.
   */
  upgrade(order: UpgradeCall): Promise<string>;
  shutdown(): Promise<void>;
  reset(options: ResetOptions): Promise<void>;
}

/** What the machine service reads and does on this node. */
export function createMachineBackend(r: MachineRuntime, actions: MachineActions): MachineBackend {
  return {
    events: r.events,
    hostname: () => fqdn(r.hostname()),
    platform: () => (r.options.platform === 'metal' ? { ...metalPlatform } : { ...containerPlatform }),
    supervisor: () => r.cycle?.supervisor,
    log: (id) => (id === 'machined' ? r.machinedLog : r.cycle?.supervisor?.list().some((s) => s.id === id) ? r.cycle.supervisor.logs(id) : undefined),
    memInfo: () => readMemInfo(),
    kernelLog: (o) => kernelLogLines(o),
    applyConfiguration: (req) => actions.applyConfiguration(req),
    reboot: () => actions.reboot(),
    shutdown: () => actions.shutdown(),
    reset: (o) => actions.reset(o),
    etcd: (what) => {
      const etcd = r.cycle?.etcd;
      if (!etcd) throw new TalosError(Code.Unimplemented, `${what} is only available on control plane nodes`);
      return etcd;
    },
    containerdSocket: () => r.options.containerd?.socket,
    generateClientConfiguration: async (roles, ttlMs) => {
      const cfg = r.activeConfig();
      const decode = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');
      const caPem = decode(cfg?.machine?.ca?.crt);
      const caKey = decode(cfg?.machine?.ca?.key);
      if (!cfg || caKey === '') throw new TalosError(Code.FailedPrecondition, 'client configuration can only be generated on control plane nodes');
      const pair = await generateClientCertificate({ osCa: { crt: caPem, key: caKey }, roles, validitySeconds: Math.floor(ttlMs / 1000) });
      const talosconfig = newTalosconfig(cfg.cluster?.clusterName ?? 'talos', { endpoints: [r.options.address], caPem, crtPem: pair.crt, keyPem: pair.key });
      return { ca: caPem, crt: pair.crt, key: pair.key, talosconfig: serializeTalosconfig(talosconfig) };
    },
  };
}

/** The gRPC services machined serves (on its socket, and in maintenance mode on :50000), authorized by `principal`. */
export function machineApi(r: MachineRuntime, backend: MachineBackend, principal: (ctx: CallContext) => Principal, actions?: Pick<MachineActions, 'rollback' | 'upgrade'>): Served[] {
  return [
    {
      service: machinePb.MachineService,
      implementation: implement(
        machinePb.MachineService,
        {
          ...createMachineService(backend),
          ...createKubeconfigService({ activeConfig: () => r.activeConfig() }),
          ...createMetaService({ platformMode: () => r.options.platform, meta: r.meta }),
          ...createUpgradeService({ platformMode: () => r.options.platform, ...(actions ? { rollback: () => actions.rollback(), upgrade: (o, signal) => actions.upgrade({ url: o.source.kind === 'http' ? o.source.url : o.source.reference, stage: o.stage, preserve: o.preserve, force: o.force, signal }) } : {}) }),
        },
        principal,
      ),
    },
    {
      service: cosiStatePb.State,
      implementation: implement(cosiStatePb.State, createStateService({ state: () => r.current().state, principal }), principal),
    },
    {
      service: inspectPb.InspectService,
      implementation: implement(inspectPb.InspectService, createInspectService(() => r.current().runtime.controllers), principal),
    },
    {
      service: timePb.TimeService,
      implementation: implement(
        timePb.TimeService,
        createTimeService({
          servers: () => r.activeConfig()?.machine?.time?.servers ?? [],
          defaultServer: DEFAULT_NTP_SERVER,
          check: async (server, signal) => {
            const s = await queryServer(server, { exchange: ntpExchange, clock: { now: () => Date.now() }, signal });
            return { localMs: s.t4, remoteMs: s.t4 + s.offsetMs };
          },
        }),
        principal,
      ),
    },
  ] as Served[];
}
