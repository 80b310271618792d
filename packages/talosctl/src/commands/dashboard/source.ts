// Where the dashboard's figures come from: one poll of one node over the machine API and the COSI
// state API, each figure on its own so that a missing or refused RPC costs one "n/a" cell, not
// the screen. CPU, uptime and load come from SystemStat, CPUInfo and LoadAvg as upstream's
// dashboard reads them: all three are open to os:reader, unlike reading /proc through Read.

import { Code, TalosError } from '@talos-ts/cosi';
import {
  AffiliateType,
  HostnameId,
  HostnameStatusType,
  IdentityType,
  LocalIdentityId,
  MachineTypeId,
  MachineTypeType,
  NamespaceName,
  commonPb,
  type machinePb,
  resourceView,
  type TalosClient,
} from '@talos-ts/machinery';
import type { CpuTimes, Field, NodeSample, ServiceSample } from './model.ts';

/** A short reason for a cell that shows "n/a". */
export function reason(err: unknown): string {
  const e = TalosError.from(err);
  if (e.code === Code.PermissionDenied) return 'not permitted';
  if (e.code === Code.Unimplemented) return 'not available';
  return e.message;
}

async function figure<T>(work: () => Promise<T>): Promise<Field<T>> {
  try {
    return { value: await work() };
  } catch (err) {
    return { error: reason(err) };
  }
}

function nodeError(metadata: { error: string } | undefined): void {
  if (metadata && metadata.error !== '') throw new TalosError(Code.Unavailable, metadata.error);
}

/** CPU counters from SystemStat's cpu_total; guest time is already part of user, so it is not added. */
export function cpuTimes(stat: Pick<machinePb.SystemStat, 'cpuTotal' | 'cpu'>): CpuTimes {
  const t = stat.cpuTotal;
  if (!t) throw new TalosError(Code.Internal, 'SystemStat has no cpu_total');
  const busy = t.user + t.nice + t.system + t.irq + t.softIrq + t.steal;
  const idle = t.idle + t.iowait;
  return { totalSeconds: busy + idle, idleSeconds: idle, cpus: stat.cpu.length };
}

/** Seconds since boot_time (Unix seconds) at `nowMs`, as upstream computes uptime on the client. */
export function uptimeSeconds(bootTime: bigint, nowMs: number): number {
  if (bootTime === 0n) throw new TalosError(Code.Internal, 'SystemStat has no boot_time');
  return Math.max(0, nowMs / 1000 - Number(bootTime));
}

async function resourceSpec(client: TalosClient, namespace: string, type: string, id: string, signal: AbortSignal): Promise<Record<string, unknown>> {
  const res = await client.resources.get({ namespace, type, id }, { signal });
  if (!res.resource) throw new TalosError(Code.NotFound, `${type} ${id} not found`);
  const spec = resourceView(res.resource).spec;
  return typeof spec === 'object' && spec !== null ? (spec as Record<string, unknown>) : {};
}

/**
 * One poll of a node through a one-to-one (`withNode`) client. Version is asked first: when it
 * fails the node is unreachable and the poll throws; every other figure fails on its own.
 */
export async function pollNode(client: TalosClient, signal: AbortSignal): Promise<NodeSample> {
  const v = await client.machine.version({}, { signal });
  const vm = v.messages[0];
  nodeError(vm?.metadata);
  const version: NodeSample['version'] = {
    value: { tag: vm?.version?.tag ?? '', arch: vm?.version?.arch ?? '', platform: vm?.platform?.name ?? '' },
  };
  // One SystemStat answers both CPU and uptime; each figure still fails on its own.
  const systemStat = client.machine.systemStat({}, { signal }).then((r) => {
    const m = r.messages[0];
    nodeError(m?.metadata);
    if (!m) throw new TalosError(Code.Internal, 'SystemStat: empty reply');
    return m;
  });
  // Awaited below by two figures; this only keeps a rejection from counting as unhandled meanwhile.
  systemStat.catch(() => undefined);
  const [hostname, machineType, memory, processes, services, cpu, cpuInfo, uptime, loadAvg, addresses] = await Promise.all([
    figure(async () => String((await resourceSpec(client, NamespaceName.network, HostnameStatusType, HostnameId, signal))['hostname'] ?? '')),
    figure(async () => String((await resourceSpec(client, NamespaceName.config, MachineTypeType, MachineTypeId, signal))['machineType'] ?? '')),
    figure(async () => {
      const m = (await client.machine.memory({}, { signal })).messages[0];
      nodeError(m?.metadata);
      return { totalBytes: Number(m?.meminfo?.memtotal ?? 0n) * 1024, availableBytes: Number(m?.meminfo?.memavailable ?? 0n) * 1024 };
    }),
    figure(async () => {
      const m = (await client.machine.processes({}, { signal })).messages[0];
      nodeError(m?.metadata);
      return (m?.processes ?? []).map((p) => ({
        pid: p.pid,
        state: p.state,
        threads: p.threads,
        cpuTimeSeconds: p.cpuTime,
        residentBytes: Number(p.residentMemory),
        command: p.args !== '' ? p.args : p.command,
      }));
    }),
    figure(async () => {
      const m = (await client.machine.serviceList({}, { signal })).messages[0];
      nodeError(m?.metadata);
      return (m?.services ?? []).map((s): ServiceSample => ({
        id: s.id,
        state: s.state,
        health: !s.health || s.health.unknown ? '?' : s.health.healthy ? 'ok' : 'fail',
      }));
    }),
    figure(async () => cpuTimes(await systemStat)),
    figure(async () => {
      const m = (await client.machine.cPUInfo({}, { signal })).messages[0];
      nodeError(m?.metadata);
      const list = m?.cpuInfo ?? [];
      return { count: list.length, mhz: list[0]?.cpuMhz ?? 0 };
    }),
    figure(async () => uptimeSeconds((await systemStat).bootTime, Date.now())),
    figure(async () => {
      const m = (await client.machine.loadAvg({}, { signal })).messages[0];
      nodeError(m?.metadata);
      return [m?.load1 ?? 0, m?.load5 ?? 0, m?.load15 ?? 0] as const;
    }),
    // The node's own affiliate lists its addresses while discovery is on; our container platform
    // has no address resources yet (upstream reads AddressStatuses).
    figure(async () => {
      const id = String((await resourceSpec(client, NamespaceName.cluster, IdentityType, LocalIdentityId, signal))['nodeId'] ?? '');
      const affiliate = await resourceSpec(client, NamespaceName.cluster, AffiliateType, id, signal);
      const list = affiliate['addresses'];
      return Array.isArray(list) ? list.map(String) : [];
    }),
  ]);
  return { hostname, version, machineType, memory, processes, services, cpu, cpuInfo, uptimeSeconds: uptime, loadAvg, addresses };
}

/** Options of {@link followLogs}. */
export interface FollowLogsOptions {
  readonly service: string;
  readonly tailLines: number;
  readonly signal: AbortSignal;
  readonly onChunk: (text: string) => void;
}

/** Streams a service's log (following) until the stream ends or fails; throws what ended it. */
export async function followLogs(client: TalosClient, options: FollowLogsOptions): Promise<void> {
  const stream = client.machine.logs(
    { namespace: 'system', driver: commonPb.ContainerDriver.CONTAINERD, id: options.service, follow: true, tailLines: options.tailLines },
    { signal: options.signal },
  );
  for await (const d of stream) {
    nodeError(d.metadata);
    if (d.bytes.length > 0) options.onChunk(Buffer.from(d.bytes).toString('utf8'));
  }
}
