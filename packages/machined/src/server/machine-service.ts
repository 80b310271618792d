import { durationMs, timestampFromMs, type Any, type Duration } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import { currentVersion, decodeConfigText, machinePb } from '@talos-ts/machinery';
import type { EtcdManager } from '../etcd/etcd.ts';
import type { ResetOptions } from '../sequencer/sequences.ts';
import type { EventBus } from '../events/bus.ts';
import type { ServiceLog } from '../system/log.ts';
import type { ServiceInfo } from '../system/service-runner.ts';
import type { ServiceSupervisor } from '../system/supervisor.ts';
import { createContainersService } from './containers-service.ts';
import { createImagesService } from './images-service.ts';
import { createFilesService } from './files-service.ts';
import type { PartialImplementation } from './implement.ts';
import { createStatsService } from './stats-service.ts';

/** Result of applying a config, as the node decided it. */
export interface ApplyResult {
  readonly mode: machinePb.ApplyConfigurationRequest_Mode;
  readonly details: string;
  readonly warnings: readonly string[];
}

/** What the machine service needs from the node. */
export interface MachineBackend {
  readonly events: EventBus;
  hostname(): string;
  platform(): { name: string; mode: string };
  supervisor(): ServiceSupervisor | undefined;
  /** The log of a service, or of `machined` itself. */
  log(id: string): ServiceLog | undefined;
  memInfo(): Promise<Record<string, bigint>>;
  /** Kernel log lines, formatted; with `follow`, keeps yielding new ones until `signal` aborts. */
  kernelLog(options: { follow: boolean; onlyNew: boolean; signal: AbortSignal }): AsyncIterable<string>;
  applyConfiguration(request: { yaml: string; mode: machinePb.ApplyConfigurationRequest_Mode; dryRun: boolean; tryTimeoutMs: number }): Promise<ApplyResult>;
  /** Starts the reboot sequence; rejects when it may not start (another sequence holds the lock). */
  reboot(): Promise<void>;
  /** Starts the shutdown sequence (it takes over whatever runs). */
  shutdown(): Promise<void>;
  /** Starts a reset; a graceful one on a control plane first leaves etcd (failures reject). */
  reset(options: ResetOptions): Promise<void>;
  /** The local etcd member; throws Unimplemented on nodes without etcd (workers), as upstream. */
  etcd(what: string): EtcdManager;
  /** containerd's socket, or undefined when this node does not run containerd. */
  containerdSocket(): string | undefined;
  generateClientConfiguration(roles: readonly string[], ttlMs: number): Promise<{ ca: string; crt: string; key: string; talosconfig: string }>;
}

/** Upstream's default TRY-mode timeout. */
export const defaultTryTimeoutMs = 60_000;

function supervisorOf(backend: MachineBackend): ServiceSupervisor {
  const s = backend.supervisor();
  if (!s) throw new TalosError(Code.Unavailable, 'services are not running yet');
  return s;
}

function serviceInfo(info: ServiceInfo): MessageInitShape<typeof machinePb.ServiceInfoSchema> {
  return {
    id: info.id,
    state: info.state,
    events: { events: info.events.map((e) => ({ msg: e.message, state: e.state, ts: timestampFromMs(e.timestamp) })) },
    health: {
      unknown: info.health.unknown,
      healthy: info.health.healthy,
      lastMessage: info.health.lastMessage,
      ...(info.health.lastChange ? { lastChange: timestampFromMs(info.health.lastChange) } : {}),
    },
  };
}

/** machine.MachineService handlers (those Talos-TS implements; the rest answer Unimplemented). */
export function createMachineService(backend: MachineBackend): PartialImplementation<typeof machinePb.MachineService> {
  return {
    ...createFilesService(),
    ...createStatsService(),
    ...createContainersService(() => backend.containerdSocket()),
    ...createImagesService(() => backend.containerdSocket()),
    version() {
      const v = currentVersion();
      return {
        messages: [
          {
            version: { tag: v.tag, sha: v.sha, built: v.built, goVersion: v.runtime, os: v.os, arch: v.arch },
            platform: backend.platform(),
            features: { rbac: true },
          },
        ],
      };
    },
    hostname() {
      return { messages: [{ hostname: backend.hostname() }] };
    },
    async memory() {
      return { messages: [{ meminfo: await backend.memInfo() }] };
    },
    serviceList() {
      return { messages: [{ services: supervisorOf(backend).list().map(serviceInfo) }] };
    },
    serviceStart(req) {
      supervisorOf(backend).get(req.id);
      supervisorOf(backend).start(req.id);
      return { messages: [{ resp: `Service "${req.id}" started` }] };
    },
    async serviceStop(req, ctx) {
      await supervisorOf(backend).stop(req.id, ctx.signal);
      return { messages: [{ resp: `Service "${req.id}" stopped` }] };
    },
    async serviceRestart(req, ctx) {
      await supervisorOf(backend).restart(req.id, ctx.signal);
      return { messages: [{ resp: `Service "${req.id}" restarted` }] };
    },
    async *logs(req, ctx) {
      const log = backend.log(req.id);
      if (!log) throw new TalosError(Code.NotFound, `log "${req.id}" was not found`);
      const tail = req.tailLines;
      const encode = (line: string) => ({ bytes: Buffer.from(`${line}\n`) });
      if (!req.follow) {
        for (const line of log.tail(tail < 0 ? undefined : tail)) yield encode(line);
        return;
      }
      for await (const line of log.follow(ctx.signal, tail < 0 ? {} : { tailLines: tail })) yield encode(line);
    },
    async *dmesg(req, ctx) {
      for await (const line of backend.kernelLog({ follow: req.follow, onlyNew: req.tail, signal: ctx.signal })) {
        yield { bytes: Buffer.from(`${line}\n`) };
      }
    },
    async *events(req, ctx) {
      for await (const e of backend.events.subscribe({
        signal: ctx.signal,
        tailEvents: req.tailEvents,
        tailId: req.tailId,
        tailSeconds: req.tailSeconds,
      })) {
        yield { id: e.id, data: e.payload as Any };
      }
    },
    async applyConfiguration(req) {
      const tryTimeoutMs = req.tryModeTimeout ? durationMs(req.tryModeTimeout) : defaultTryTimeoutMs;
      // Strict decoding: a lenient one would store U+FFFD where the client sent other bytes.
      const text = decodeConfigText(req.data, { filename: 'config' });
      if (text.error) throw new TalosError(Code.InvalidArgument, `configuration is invalid: ${text.error.message}`);
      const result = await backend.applyConfiguration({
        yaml: text.value,
        mode: req.mode,
        dryRun: req.dryRun,
        tryTimeoutMs,
      });
      return { messages: [{ mode: result.mode, modeDetails: result.details, warnings: [...result.warnings] }] };
    },
    async reboot() {
      await backend.reboot();
      return { messages: [{}] };
    },
    async shutdown() {
      await backend.shutdown();
      return { messages: [{}] };
    },
    async reset(req) {
      await backend.reset({
        graceful: req.graceful,
        reboot: req.reboot,
        systemPartitionsToWipe: req.systemPartitionsToWipe.map((p) => ({ label: p.label, wipe: p.wipe })),
        userDisksOnly: req.mode === machinePb.ResetRequest_WipeMode.USER_DISKS,
      });
      return { messages: [{}] };
    },
    async bootstrap(req, ctx) {
      await backend.etcd('bootstrap').bootstrap({ recover: req.recoverEtcd, skipHashCheck: req.recoverSkipHashCheck }, ctx.signal);
      return { messages: [{}] };
    },
    async etcdMemberList(_req, ctx) {
      const members = await backend.etcd('member list').memberList(ctx.signal);
      return {
        messages: [
          {
            legacyMembers: members.map((m) => m.name),
            members: members.map((m) => ({ id: m.ID, hostname: m.name, peerUrls: m.peerURLs, clientUrls: m.clientURLs, isLearner: m.isLearner })),
          },
        ],
      };
    },
    async etcdRemoveMemberByID(req, ctx) {
      await backend.etcd('remove member').removeMember(req.memberId, ctx.signal);
      return { messages: [{}] };
    },
    async etcdLeaveCluster(_req, ctx) {
      await backend.etcd('leave cluster').leave(ctx.signal);
      return { messages: [{}] };
    },
    async etcdForfeitLeadership(_req, ctx) {
      const member = await backend.etcd('forfeit leadership').forfeitLeadership(ctx.signal);
      return { messages: [{ member }] };
    },
    async *etcdSnapshot(_req, ctx) {
      for await (const chunk of backend.etcd('snapshot').snapshot(ctx.signal)) yield { bytes: chunk };
    },
    async etcdRecover(requests) {
      const etcd = backend.etcd('recover');
      await etcd.storeRecoverSnapshot(
        (async function* () {
          for await (const r of requests) if (r.bytes) yield r.bytes;
        })(),
      );
      return { messages: [{}] };
    },
    async etcdStatus(_req, ctx) {
      const s = await backend.etcd('status').status(ctx.signal);
      return {
        messages: [
          {
            memberStatus: {
              memberId: s.header?.memberId ?? 0n,
              protocolVersion: s.version,
              dbSize: s.dbSize,
              dbSizeInUse: s.dbSizeInUse,
              leader: s.leader,
              raftIndex: s.raftIndex,
              raftTerm: s.raftTerm,
              raftAppliedIndex: s.raftAppliedIndex,
              errors: s.errors,
              isLearner: s.isLearner,
            },
          },
        ],
      };
    },
    async etcdAlarmList(_req, ctx) {
      const alarms = await backend.etcd('alarm list').alarms(ctx.signal);
      return { messages: [{ memberAlarms: alarms.map((a) => ({ memberId: a.memberID, alarm: a.alarm as number })) }] };
    },
    async etcdAlarmDisarm(_req, ctx) {
      const alarms = await backend.etcd('alarm disarm').disarmAlarms(ctx.signal);
      return { messages: [{ memberAlarms: alarms.map((a) => ({ memberId: a.memberID, alarm: a.alarm as number })) }] };
    },
    async etcdDefragment(_req, ctx) {
      await backend.etcd('defragment').defragment(ctx.signal);
      return { messages: [{}] };
    },
    async generateClientConfiguration(req) {
      const ttlMs = clientCertTtlMs(req.crtTtl, Date.now());
      const roles = req.roles.length > 0 ? req.roles : ['os:admin'];
      const r = await backend.generateClientConfiguration(roles, ttlMs);
      return {
        messages: [{ ca: Buffer.from(r.ca), crt: Buffer.from(r.crt), key: Buffer.from(r.key), talosconfig: Buffer.from(r.talosconfig) }],
      };
    },
  };
}

/** Latest notAfter an X.509 certificate can carry (GeneralizedTime ends at year 9999). */
const LAST_NOT_AFTER_MS = Date.UTC(9999, 11, 31, 23, 59, 59);

/**
 * The lifetime of a client certificate from GenerateClientConfiguration's `crt_ttl`: a year when
 * unset, as upstream; a lifetime that is not positive or ends past year 9999 is the caller's error
 * (InvalidArgument), not a certificate-encoding failure.
 */
export function clientCertTtlMs(crtTtl: Duration | undefined, nowMs: number): number {
  if (crtTtl === undefined) return 365 * 24 * 3600 * 1000;
  const ttlMs = durationMs(crtTtl);
  if (!Number.isFinite(ttlMs) || ttlMs <= 0) throw new TalosError(Code.InvalidArgument, 'crt_ttl must be positive');
  if (nowMs + ttlMs > LAST_NOT_AFTER_MS) throw new TalosError(Code.InvalidArgument, 'crt_ttl ends after year 9999, the last date a certificate can carry');
  return ttlMs;
}
