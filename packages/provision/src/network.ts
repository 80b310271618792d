// The address plan of a process-backed cluster: which namespace, veth and address each node gets.
// Pure data, so the plan can be tested and saved before anything on the host is touched.

import { Code, TalosError } from '@talos-ts/cosi';

/** The default cluster network, as upstream's `talosctl cluster create`. */
export const DEFAULT_CIDR = '10.5.0.0/24';
/** The default cluster name. */
export const DEFAULT_CLUSTER_NAME = 'talos-default';
/** Where the cluster's discovery service listens on the bridge address. */
export const DISCOVERY_PORT = 3000;
/** The bridge inside the cluster namespace; every cluster has its own namespace, so one name fits all. */
export const BRIDGE_NAME = 'talos-br';

/** A node's role in the cluster. */
export type NodeRole = 'controlplane' | 'worker';

/** One node of the plan. */
export interface PlannedNode {
  /** `NAME-controlplane-1`, `NAME-worker-1`, … as upstream names them. */
  readonly name: string;
  readonly role: NodeRole;
  readonly ip: string;
  /** The node's own network namespace. */
  readonly netns: string;
  /** The host end of the node's veth pair, inside the cluster namespace. */
  readonly veth: string;
}

/** The whole plan. */
export interface NetworkPlan {
  readonly cidr: string;
  readonly prefixLength: number;
  /** The cluster namespace, holding the bridge, the forwarder and the discovery service. */
  readonly netns: string;
  readonly bridge: string;
  readonly bridgeIp: string;
  readonly nodes: readonly PlannedNode[];
}

/** Options of {@link planNetwork}. */
export interface PlanOptions {
  readonly cidr?: string;
  readonly controlplanes: number;
  readonly workers: number;
}

/** Cluster names become namespace and file names: keep them to DNS-label characters. */
export function validateClusterName(name: string): string | undefined {
  if (!/^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/.test(name)) {
    return `invalid cluster name ${JSON.stringify(name)}: use 1-40 lowercase letters, digits and dashes, not starting or ending with a dash`;
  }
  return undefined;
}

/** The cluster namespace's name. */
export function clusterNetns(name: string): string {
  return `talos-${name}`;
}

/** Whether a namespace name is one this provisioner makes for the cluster (the cluster's or a node's). */
export function isClusterNetns(cluster: string, netns: string): boolean {
  const base = clusterNetns(cluster);
  return netns === base || new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(controlplane|worker)-\\d+$`).test(netns);
}

function ipToInt(ip: string): number | undefined {
  const parts = ip.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    n = n * 256 + Number(p);
  }
  return n;
}

function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

/**
 * Lays out the cluster: bridge at the network's first address, then control planes, then workers
 * in address order (.2, .3, …). Only IPv4 is supported, as namespaces here carry one bridge.
 */
export function planNetwork(clusterName: string, options: PlanOptions): NetworkPlan {
  const nameError = validateClusterName(clusterName);
  if (nameError) throw new TalosError(Code.InvalidArgument, nameError);
  const cidr = options.cidr ?? DEFAULT_CIDR;
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(cidr);
  const base = m ? ipToInt(m[1] ?? '') : undefined;
  const prefixLength = Number(m?.[2] ?? NaN);
  if (base === undefined || !(prefixLength >= 8 && prefixLength <= 30)) {
    throw new TalosError(Code.InvalidArgument, `invalid --cidr ${JSON.stringify(cidr)}: want an IPv4 network such as ${DEFAULT_CIDR} (prefix 8..30)`);
  }
  if (!Number.isInteger(options.controlplanes) || options.controlplanes < 1) {
    throw new TalosError(Code.InvalidArgument, 'a cluster needs at least one control plane node');
  }
  if (!Number.isInteger(options.workers) || options.workers < 0) throw new TalosError(Code.InvalidArgument, 'the number of workers cannot be negative');
  const size = 2 ** (32 - prefixLength);
  const network = (base - (base % size)) >>> 0;
  // Network address, bridge, and the broadcast address are not for nodes.
  const total = options.controlplanes + options.workers;
  if (total > size - 3) throw new TalosError(Code.InvalidArgument, `--cidr ${cidr} has room for ${size - 3} nodes, ${total} requested`);
  const netns = clusterNetns(clusterName);
  const nodes: PlannedNode[] = [];
  const add = (role: NodeRole, index: number): void => {
    const ordinal = nodes.length;
    const name = `${clusterName}-${role}-${index}`;
    nodes.push({ name, role, ip: intToIp(network + 2 + ordinal), netns: `talos-${name}`, veth: `veth${ordinal}` });
  };
  for (let i = 1; i <= options.controlplanes; i++) add('controlplane', i);
  for (let i = 1; i <= options.workers; i++) add('worker', i);
  return { cidr: `${intToIp(network)}/${prefixLength}`, prefixLength, netns, bridge: BRIDGE_NAME, bridgeIp: intToIp(network + 1), nodes };
}

/** The discovery endpoint nodes of the cluster use (plain gRPC on the bridge address). */
export function discoveryEndpoint(plan: Pick<NetworkPlan, 'bridgeIp'>): string {
  return `http://${plan.bridgeIp}:${DISCOVERY_PORT}/`;
}

/** The port of the cluster's OCI registry on the bridge (qemu clusters; upstream's local registries use 5000). */
export const REGISTRY_PORT = 5000;

/** `host:port` of the cluster's registry, the registry part of the installer reference nodes pull. */
export function registryHost(plan: Pick<NetworkPlan, 'bridgeIp'>): string {
  return `${plan.bridgeIp}:${REGISTRY_PORT}`;
}

/** The installer image nodes of a qemu cluster install from: the registry on the bridge, tagged with the version. */
export function installerReference(plan: Pick<NetworkPlan, 'bridgeIp'>, tag: string): string {
  return `${registryHost(plan)}/talos-ts/installer:${tag}`;
}
