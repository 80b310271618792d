import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { Code, TalosError } from '@talos-ts/cosi';
import { Roles, isRole, rolesFromOrganizations } from '@talos-ts/machinery';
import type { GrpcMetadata, Role } from '@talos-ts/machinery';

/** Metadata keys apid reads or sets, as upstream names them. */
export const MetadataKeys = {
  node: 'node',
  nodes: 'nodes',
  role: 'talos-role',
  proxyFrom: 'proxyfrom',
} as const;

/** Where a call goes: machined on this node, one node (local or remote), or many nodes merged. */
export type Route =
  | { readonly mode: 'one'; readonly target: string | undefined }
  | { readonly mode: 'many'; readonly targets: readonly string[] };

/** Every value of a metadata key, split on commas (a client may send one list or repeat the key). */
export function metadataList(md: GrpcMetadata, key: string): string[] {
  const values = md.get(key);
  if (values === undefined) return [];
  const out: string[] = [];
  for (const v of values) {
    for (const part of (typeof v === 'string' ? v : v.toString('utf8')).split(',')) {
      const t = part.trim();
      if (t !== '') out.push(t);
    }
  }
  return out;
}

/**
 * Most nodes one call may fan out to. Each target costs an upstream connection and call held
 * for the whole call; 256 covers a large cluster addressed at once while keeping one request
 * from turning into thousands of dials (a talosctl user with more nodes splits the list).
 */
export const MAX_FAN_OUT = 256;

// A host name (RFC 1123 labels, `_` tolerated) or an IP address: letters, digits, `.-_`, and
// `:` / `%zone` for IPv6. Anything else (a path, user info, spaces) is not a node name.
const nodeName = /^(?:[A-Za-z0-9._-]{1,253}|\[?[0-9A-Fa-f:.]+(?:%[A-Za-z0-9_.-]+)?\]?)$/;

/**
 * Checks a `node`/`nodes` value: a host name or IP address, never with a port. apid reaches
 * every node only on the API port (upstream refuses a target with a port too), so a caller
 * cannot make it dial arbitrary services.
 */
export function checkTarget(node: string): void {
  const v6 = /^\[(.*)\]$/.exec(node)?.[1] ?? node;
  const colons = v6.split(':').length - 1;
  const withPort = /^\[.*\]:/.test(node) || colons === 1;
  if (withPort) throw new TalosError(Code.InvalidArgument, `node "${clip(node)}" names a port: a node is named by its host name or IP address alone (apid reaches every node on its API port)`);
  if (!nodeName.test(node) || (colons > 1 && isIP(v6.replace(/%.*$/, '')) !== 6)) {
    throw new TalosError(Code.InvalidArgument, `node "${clip(node)}" is not a host name or IP address`);
  }
}

function clip(s: string): string {
  return s.length > 64 ? `${s.slice(0, 64)}…` : s;
}

/**
 * Picks the route of a call from its metadata. A call that already went through one apid
 * (`proxyfrom`) is always served here, so a hop can never bounce on to a third node.
 * `target: undefined` means this node. Targets are checked ({@link checkTarget}), `nodes` is
 * deduplicated (first occurrence keeps its place) and capped at {@link MAX_FAN_OUT}.
 */
export function routeOf(md: GrpcMetadata): Route {
  if ((md.get(MetadataKeys.proxyFrom)?.length ?? 0) > 0) return { mode: 'one', target: undefined };
  const listed = metadataList(md, MetadataKeys.nodes);
  if (listed.length > 0) {
    const nodes = [...new Set(listed)];
    if (nodes.length > MAX_FAN_OUT) throw new TalosError(Code.InvalidArgument, `metadata "nodes" names ${nodes.length} nodes; one call reaches at most ${MAX_FAN_OUT}`);
    for (const n of nodes) checkTarget(n);
    return { mode: 'many', targets: nodes };
  }
  const node = metadataList(md, MetadataKeys.node);
  if (node.length > 1) throw new TalosError(Code.InvalidArgument, `metadata "node" must name one node, got ${clip(node.join(', '))}; use "nodes" for several`);
  if (node[0] !== undefined) checkTarget(node[0]);
  return { mode: 'one', target: node[0] };
}

function organizationsOf(cert: PeerCertificate): string[] {
  const o = (cert.subject as unknown as Record<string, string | string[] | undefined> | undefined)?.O;
  if (o === undefined) return [];
  return Array.isArray(o) ? o : [o];
}

/** The caller's roles: from its client certificate, or from `talos-role` when the peer is another apid. */
export interface Caller {
  readonly roles: ReadonlySet<Role>;
  /** The roles of the certificate itself (differs from `roles` for a proxied call). */
  readonly certRoles: ReadonlySet<Role>;
  readonly impersonated: boolean;
}

/** The roles a verified client certificate grants; Unauthenticated without one. */
export function certificateRoles(cert: PeerCertificate | undefined): ReadonlySet<Role> {
  if (cert === undefined || cert === null || Object.keys(cert).length === 0 || cert.raw === undefined) {
    throw new TalosError(Code.Unauthenticated, 'a client certificate signed by the OS CA is required');
  }
  return rolesFromOrganizations(organizationsOf(cert));
}

/**
 * The caller of a call whose certificate granted `certRoles`. Only an `os:impersonator` peer
 * may pass roles on in `talos-role`; anyone else sending it gets the certificate's roles.
 */
export function callerOf(certRoles: ReadonlySet<Role>, md: GrpcMetadata): Caller {
  if (certRoles.has(Roles.impersonator) && (md.get(MetadataKeys.role)?.length ?? 0) > 0) {
    const roles = new Set<Role>();
    for (const r of metadataList(md, MetadataKeys.role)) if (isRole(r) && r !== Roles.impersonator) roles.add(r);
    return { roles, certRoles, impersonated: true };
  }
  return { roles: certRoles, certRoles, impersonated: false };
}

/**
 * Authenticates a call by its verified client certificate. The TLS handshake has already
 * rejected unknown CAs; a call without a certificate (only possible when the server was
 * configured without client auth) is Unauthenticated.
 */
export function authenticate(cert: PeerCertificate | undefined, md: GrpcMetadata): Caller {
  return callerOf(certificateRoles(cert), md);
}

/** Keys never copied from the incoming call to a forwarded one (transport or routing headers). */
const dropped = new Set<string>([MetadataKeys.node, MetadataKeys.nodes, MetadataKeys.role, 'user-agent', 'te', 'content-type', 'host']);

/**
 * The metadata of a forwarded call: the caller's own keys and the roles apid decided on. A hop
 * to another node sets `proxyfrom`; a local call keeps the one it arrived with, so machined
 * sees where a proxied call came from.
 */
export function forwardMetadata(md: GrpcMetadata, roles: ReadonlySet<Role>, proxyFrom: string | undefined): GrpcMetadata {
  const out: GrpcMetadata = new Map();
  // Values are never mutated after a call arrives, so the lists are shared, not copied.
  for (const [key, values] of md) {
    if (dropped.has(key) || key.startsWith('grpc-') || key.startsWith(':')) continue;
    out.set(key, values);
  }
  out.set(MetadataKeys.role, [rolesHeader(roles)]);
  if (proxyFrom !== undefined) out.set(MetadataKeys.proxyFrom, [proxyFrom]);
  return out;
}

const joinedRoles = new WeakMap<ReadonlySet<Role>, string>();

/** `talos-role` for a role set; role sets are cached per session, so the join is too. */
function rolesHeader(roles: ReadonlySet<Role>): string {
  let s = joinedRoles.get(roles);
  if (s === undefined) {
    s = [...roles].join(',');
    joinedRoles.set(roles, s);
  }
  return s;
}

/** `host:port` to dial for a node (checked by {@link checkTarget}, so it has no port); IPv6 bracketed. */
export function defaultNodeAddress(node: string, port: number): string {
  const host = /^\[(.*)\]$/.exec(node)?.[1] ?? node;
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host part of a peer string (`1.2.3.4:5678`, `[::1]:5678`). */
export function peerHost(peer: string): string {
  const m = /^\[?(.*?)\]?:\d+$/.exec(peer);
  return m?.[1] ?? peer;
}
