// Where the dashboard's figures come from: one poll of one node over the machine API and the COSI
// state API, each figure on its own so that a missing or refused RPC costs one "n/a" cell, not
// the screen. Upstream reads CPU and load from SystemStat/LoadAvg, which our API does not have yet:
// until it does, they come from /proc through the Read RPC (os:admin only; n/a for other roles).

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
  resourceView,
  type TalosClient,
} from '@talos-ts/machinery';
import type { CpuTimes, Field, NodeSample, ServiceSample } from './model.ts';

/** Largest /proc file read for a figure; /proc/stat of a many-core host is a few kB. */
const PROC_READ_LIMIT_BYTES = 256 * 1024;

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

async function readText(client: TalosClient, path: string, signal: AbortSignal): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const d of client.machine.read({ path }, { signal })) {
    nodeError(d.metadata);
    chunks.push(Buffer.from(d.bytes));
    size += d.bytes.length;
    if (size > PROC_READ_LIMIT_BYTES) throw new TalosError(Code.ResourceExhausted, `${path} is larger than ${PROC_READ_LIMIT_BYTES} bytes`);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** CPU counters from /proc/stat: the aggregate `cpu` line and the number of `cpuN` lines. */
export function parseProcStat(text: string): CpuTimes {
  const lines = text.split('\n');
  const total = lines.find((l) => /^cpu\s/.test(l));
  if (!total) throw new TalosError(Code.Internal, '/proc/stat has no cpu line');
  // user nice system idle iowait irq softirq steal (guest time is already counted in user).
  const n = total.trim().split(/\s+/).slice(1, 9).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const sum = n.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return { totalTicks: sum, idleTicks: idle, cpus: lines.filter((l) => /^cpu\d+\s/.test(l)).length };
}

/** The three load averages of /proc/loadavg. */
export function parseLoadAvg(text: string): [number, number, number] {
  const [a, b, c] = text.trim().split(/\s+/).map(Number);
  if (![a, b, c].every((x) => Number.isFinite(x))) throw new TalosError(Code.Internal, `/proc/loadavg: unexpected ${JSON.stringify(text.slice(0, 40))}`);
  return [a ?? 0, b ?? 0, c ?? 0];
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
  const [hostname, machineType, memory, processes, services, cpu, uptimeSeconds, loadAvg, addresses] = await Promise.all([
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
    figure(async () => parseProcStat(await readText(client, '/proc/stat', signal))),
    figure(async () => {
      const seconds = Number((await readText(client, '/proc/uptime', signal)).split(/\s+/)[0]);
      if (!Number.isFinite(seconds)) throw new TalosError(Code.Internal, '/proc/uptime: not a number');
      return seconds;
    }),
    figure(async () => parseLoadAvg(await readText(client, '/proc/loadavg', signal))),
    // The node's own affiliate lists its addresses while discovery is on; our container platform
    // has no address resources yet (upstream reads AddressStatuses).
    figure(async () => {
      const id = String((await resourceSpec(client, NamespaceName.cluster, IdentityType, LocalIdentityId, signal))['nodeId'] ?? '');
      const affiliate = await resourceSpec(client, NamespaceName.cluster, AffiliateType, id, signal);
      const list = affiliate['addresses'];
      return Array.isArray(list) ? list.map(String) : [];
    }),
  ]);
  return { hostname, version, machineType, memory, processes, services, cpu, uptimeSeconds, loadAvg, addresses };
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
