// The cluster state file (DIR/state.json): everything `destroy` and `show` need to find what
// `create` made, written before each step that leaves something behind on the host.

import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import type { NetworkPlan, NodeRole } from './network.ts';

/** One node as recorded: plan, process and loopback forward. */
export interface NodeState {
  readonly name: string;
  readonly role: NodeRole;
  readonly ip: string;
  readonly netns: string;
  readonly veth: string;
  /** The node's machined state directory. */
  readonly dir: string;
  readonly logFile: string;
  /** qemu: the VM's data disk file. */
  readonly diskFile?: string;
  /** machined's (or, for a VM, its launcher's) pid, once started. */
  pid?: number;
  /** 127.0.0.1:PORT reaches this node's apid (port 50000). */
  apiForwardPort?: number;
}

/** The file's content. */
export interface ClusterState {
  readonly version: 1;
  readonly name: string;
  readonly provisioner: 'process' | 'qemu';
  readonly dir: string;
  readonly createdAt: string;
  readonly network: Omit<NetworkPlan, 'nodes'>;
  readonly nodes: NodeState[];
  /** Namespaces created so far, in creation order (destroy removes them all). */
  readonly netnsCreated: string[];
  discovery?: { pid: number; endpoint: string; logFile: string };
  forwarder?: { pid: number; logFile: string };
  /** qemu: the registry on the bridge (`host` = bridge ip:port) and its loopback forward. */
  registry?: { pid: number; host: string; logFile: string; forwardPort?: number | undefined };
  /** Where the cluster's talosconfig context was merged. */
  talosconfigPath?: string;
}

/** The default root of cluster state directories (upstream's `--state` default). */
export function defaultStateRoot(): string {
  return join(homedir(), '.talos', 'clusters');
}

/** The state directory of a cluster under a root. */
export function clusterDir(root: string, name: string): string {
  return join(root, name);
}

/** Writes state.json atomically (write then rename), so a crash never leaves half a file. */
export async function saveClusterState(state: ClusterState): Promise<void> {
  await mkdir(state.dir, { recursive: true, mode: 0o700 });
  const file = join(state.dir, 'state.json');
  await writeFile(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}

/** Reads a cluster's state; NotFound when the cluster does not exist. */
export async function loadClusterState(root: string, name: string): Promise<ClusterState> {
  const file = join(clusterDir(root, name), 'state.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TalosError(Code.NotFound, `cluster ${JSON.stringify(name)} not found (no ${file})`);
    throw TalosError.from(err);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new TalosError(Code.DataLoss, `${file}: invalid JSON: ${(err as Error).message}`);
  }
  const s = parsed as Partial<ClusterState>;
  if (s.version !== 1 || s.name !== name || !Array.isArray(s.nodes) || !Array.isArray(s.netnsCreated) || typeof s.dir !== 'string') {
    throw new TalosError(Code.DataLoss, `${file}: not a cluster state this talosctl understands`);
  }
  return s as ClusterState;
}
