// Network namespaces, the bridge and veth pairs, made with iproute2. Nothing here touches the
// host's root namespace: links are created inside the cluster namespace and moved into nodes'.

import { execFile } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { Code, TalosError } from '@talos-ts/cosi';
import type { NetworkPlan, PlannedNode } from '../network.ts';

/** Runs `ip ARGS…`; rejects with ip's own message. */
export async function ip(args: readonly string[], options: { signal?: AbortSignal } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('ip', [...args], { timeout: 15_000, ...(options.signal ? { signal: options.signal } : {}) }, (err, stdout, stderr) => {
      if (err) {
        const detail = String(stderr).trim() || err.message;
        reject(new TalosError(Code.Internal, `ip ${args.join(' ')}: ${detail}`, { cause: err }));
        return;
      }
      resolve(String(stdout));
    });
  });
}

/** Names of the network namespaces that exist (`/run/netns`, where iproute2 keeps them). */
export async function listNetns(): Promise<string[]> {
  try {
    return (await readdir('/run/netns')).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw TalosError.from(err);
  }
}

/** Creates a namespace with loopback up; fails if it already exists (a name clash is a user error). */
export async function createNetns(name: string): Promise<void> {
  if ((await listNetns()).includes(name)) {
    throw new TalosError(Code.AlreadyExists, `network namespace ${name} already exists: destroy the cluster first (talosctl cluster destroy)`);
  }
  await ip(['netns', 'add', name]);
  await ip(['-n', name, 'link', 'set', 'lo', 'up']);
}

/** Deletes a namespace if it exists; its links (bridge, veth ends) go with it. */
export async function deleteNetns(name: string): Promise<void> {
  if (!(await listNetns()).includes(name)) return;
  await ip(['netns', 'delete', name]);
}

/** Pids of processes living in a namespace. */
export async function netnsPids(name: string): Promise<number[]> {
  if (!(await listNetns()).includes(name)) return [];
  const out = await ip(['netns', 'pids', name]);
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** Adds the bridge with its address to the (already created) cluster namespace. */
export async function createBridge(plan: NetworkPlan): Promise<void> {
  const ns = plan.netns;
  await ip(['-n', ns, 'link', 'add', plan.bridge, 'type', 'bridge']);
  await ip(['-n', ns, 'addr', 'add', `${plan.bridgeIp}/${plan.prefixLength}`, 'dev', plan.bridge]);
  await ip(['-n', ns, 'link', 'set', plan.bridge, 'up']);
}

/**
 * Joins a node's (already created) namespace to the bridge: a veth pair made in the cluster
 * namespace with its peer created straight inside the node's, named eth0 there.
 */
export async function attachNode(plan: NetworkPlan, node: PlannedNode): Promise<void> {
  const ns = plan.netns;
  await ip(['-n', ns, 'link', 'add', node.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', node.netns]);
  await ip(['-n', ns, 'link', 'set', node.veth, 'master', plan.bridge]);
  await ip(['-n', ns, 'link', 'set', node.veth, 'up']);
  await ip(['-n', node.netns, 'addr', 'add', `${node.ip}/${plan.prefixLength}`, 'dev', 'eth0']);
  await ip(['-n', node.netns, 'link', 'set', 'eth0', 'up']);
  // Metric 1024 is what the node's RouteSpecController gives the ip= gateway: the same route, owned
  // by the node from then on, not a second one beside it.
  await ip(['-n', node.netns, 'route', 'add', 'default', 'via', plan.bridgeIp, 'metric', '1024']);
}

/** Adds a tap device for a VM to the cluster namespace's bridge (QEMU opens it by name). */
export async function createTap(plan: NetworkPlan, tap: string): Promise<void> {
  const ns = plan.netns;
  await ip(['-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
  await ip(['-n', ns, 'link', 'set', tap, 'master', plan.bridge]);
  await ip(['-n', ns, 'link', 'set', tap, 'up']);
}
