import type { AffiliateSpec, KubeSpanPeerSpecSpec } from '@talos-ts/machinery';
import { IpSet, parseRange } from './ipset.ts';
import { parseWireGuardKey } from './keys.ts';

/** An affiliate left out of the peer list, and why (for the log). */
export interface SkippedPeer {
  readonly affiliateId: string;
  readonly reason: string;
}

/** `ip:port` or `[ip6]:port` in canonical text; undefined when it does not parse. */
export function parseEndpoint(text: string): { ip: string; port: number } | undefined {
  const v6 = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text);
  const m = v6 ?? /^([^:[\]]+):(\d{1,5})$/.exec(text);
  if (!m) return undefined;
  const range = parseRange(m[1] ?? '');
  const port = Number(m[2]);
  if (!range || range.first !== range.last || port < 1 || port > 65535) return undefined;
  // Brackets are for IPv6 only, as Go's netip.ParseAddrPort wants.
  if ((v6 !== null) !== (range.family === 6)) return undefined;
  return { ip: m[1] ?? '', port };
}

/**
 * KubeSpan peers from the merged affiliates, as upstream's PeerSpecController: every other node that
 * publishes a WireGuard key becomes a peer (id = its key) routing its node addresses, its
 * advertised networks minus the ones it excludes (its own config), and its KubeSpan address. Affiliates are taken in
 * id order; where a peer's ranges overlap an earlier peer's, the earlier keeps them. Malformed data
 * (key, address, endpoint) skips that affiliate only.
 */
export function derivePeerSpecs(
  affiliates: readonly { readonly id: string; readonly spec: AffiliateSpec }[],
  options: { readonly localNodeId: string },
): { peers: Map<string, KubeSpanPeerSpecSpec>; skipped: SkippedPeer[]; overlaps: string[] } {
  const peers = new Map<string, KubeSpanPeerSpecSpec>();
  const sets = new Map<string, IpSet>();
  const skipped: SkippedPeer[] = [];
  const overlaps: string[] = [];
  const sorted = [...affiliates].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const { id, spec } of sorted) {
    if (id === options.localNodeId) continue;
    const ks = spec.kubespan;
    if (!ks || ks.publicKey === '') continue;
    const key = parseWireGuardKey(ks.publicKey);
    if ('error' in key) {
      skipped.push({ affiliateId: id, reason: `public key: ${key.error}` });
      continue;
    }
    const address = parseRange(ks.address);
    if (!address || address.first !== address.last) {
      skipped.push({ affiliateId: id, reason: `KubeSpan address ${JSON.stringify(ks.address)} is not an IP address` });
      continue;
    }
    const badEndpoint = ks.endpoints.find((e) => parseEndpoint(e) === undefined);
    if (badEndpoint !== undefined) {
      skipped.push({ affiliateId: id, reason: `endpoint ${JSON.stringify(badEndpoint.slice(0, 80))} is not ip:port` });
      continue;
    }
    const set = new IpSet();
    let bad: string | undefined;
    for (const p of ks.additionalAddresses) {
      const r = parseRange(p);
      if (r) set.add(r);
      else bad ??= p;
    }
    for (const a of spec.addresses) {
      const r = parseRange(a);
      if (r) set.add(r);
      else bad ??= a;
    }
    if (bad !== undefined) {
      skipped.push({ affiliateId: id, reason: `address ${JSON.stringify(bad.slice(0, 80))} does not parse` });
      continue;
    }
    for (const p of ks.excludeAdvertisedNetworks ?? []) {
      const r = parseRange(p);
      if (r) set.remove(r);
    }
    set.add(address);
    for (const [otherKey, other] of sets) {
      if (set.overlaps(other)) {
        overlaps.push(`${ks.publicKey} overlaps ${otherKey}`);
        set.removeSet(other);
      }
    }
    sets.set(ks.publicKey, set);
    peers.set(ks.publicKey, { address: ks.address, allowedIPs: set.prefixes(), endpoints: [...ks.endpoints], label: spec.nodename });
  }
  return { peers, skipped, overlaps };
}
