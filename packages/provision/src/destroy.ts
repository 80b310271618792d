// `talosctl cluster destroy`: stops every process the cluster started, deletes its namespaces and
// its state directory. Idempotent: what is already gone is skipped, and a missing or broken state
// file still lets it find the namespaces (by name) and processes (by the cluster dir in /proc).

import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { isClusterNetns, validateClusterName } from './network.ts';
import { clusterDir, loadClusterState, type ClusterState } from './state.ts';
import { deleteNetns, listNetns, netnsPids } from './host/netns.ts';
import { isAlive, processesMentioning, stopProcesses } from './host/processes.ts';

/** Options of {@link destroyCluster}. */
export interface DestroyClusterOptions {
  readonly name: string;
  readonly stateRoot: string;
  /** How long machined gets to stop its services before everything left is killed. */
  readonly graceMs?: number;
  readonly onProgress?: (line: string) => void;
}

/** What destroy found and removed. */
export interface DestroyResult {
  /** False when nothing of the cluster existed any more. */
  readonly existed: boolean;
  /** Where create merged the cluster's talosconfig context (to remove it), if recorded. */
  readonly talosconfigPath?: string;
}

async function clusterNamespaces(name: string, state: ClusterState | undefined): Promise<string[]> {
  const existing = await listNetns();
  const ours = new Set(existing.filter((ns) => isClusterNetns(name, ns)));
  for (const ns of state?.netnsCreated ?? []) if (existing.includes(ns)) ours.add(ns);
  // Nodes' namespaces first: the cluster one holds the bridge their veths hang off.
  return [...ours].sort((a, b) => b.length - a.length || a.localeCompare(b));
}

/** Destroys the cluster; see the file comment. */
export async function destroyCluster(options: DestroyClusterOptions): Promise<DestroyResult> {
  const nameError = validateClusterName(options.name);
  if (nameError) throw new TalosError(Code.InvalidArgument, nameError);
  const progress = options.onProgress ?? (() => undefined);
  const dir = clusterDir(options.stateRoot, options.name);
  let state: ClusterState | undefined;
  try {
    state = await loadClusterState(options.stateRoot, options.name);
  } catch (err) {
    if (!hasCode(err, Code.NotFound) && !hasCode(err, Code.DataLoss)) throw err;
    if (hasCode(err, Code.DataLoss)) progress(`warning: ${err.message}; cleaning up by name`);
  }
  const namespaces = await clusterNamespaces(options.name, state);
  const dirExists = existsSync(dir);
  if (!state && namespaces.length === 0 && !dirExists) return { existed: false };

  // machined first and alone, so it can stop apid, trustd and etcd itself.
  const machined = (state?.nodes ?? []).map((n) => n.pid ?? 0).filter((p) => p > 0 && isAlive(p));
  if (machined.length > 0) {
    progress(`stopping ${machined.length} node(s)`);
    await stopProcesses(machined, { graceMs: options.graceMs ?? 10_000 });
  }
  const rest = new Set<number>([state?.discovery?.pid ?? 0, state?.forwarder?.pid ?? 0, state?.registry?.pid ?? 0]);
  for (const ns of namespaces) for (const p of await netnsPids(ns)) rest.add(p);
  if (dirExists) for (const p of processesMentioning(dir)) rest.add(p);
  rest.delete(0);
  rest.delete(process.pid);
  const leftovers = [...rest].filter(isAlive);
  if (leftovers.length > 0) {
    progress(`stopping ${leftovers.length} remaining process(es)`);
    await stopProcesses(leftovers, { graceMs: 3_000 });
  }
  for (const ns of namespaces) {
    progress(`deleting network namespace ${ns}`);
    await deleteNetns(ns);
  }
  if (dirExists) {
    progress(`removing ${dir}`);
    await rm(dir, { recursive: true, force: true });
  }
  return { existed: true, ...(state?.talosconfigPath ? { talosconfigPath: state.talosconfigPath } : {}) };
}

/** The recorded state plus whether each process still runs, for `cluster show`. */
export interface ClusterStatus {
  readonly state: ClusterState;
  readonly running: Readonly<Record<string, boolean>>;
}

/** Loads the state of a cluster and checks its processes (NotFound when it does not exist). */
export async function clusterStatus(stateRoot: string, name: string): Promise<ClusterStatus> {
  const state = await loadClusterState(stateRoot, name);
  const running: Record<string, boolean> = {};
  for (const n of state.nodes) running[n.name] = n.pid !== undefined && isAlive(n.pid);
  if (state.discovery) running['discovery'] = isAlive(state.discovery.pid);
  if (state.forwarder) running['forwarder'] = isAlive(state.forwarder.pid);
  return { state, running };
}
