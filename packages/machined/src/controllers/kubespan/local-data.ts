import type { KubeSpanAffiliateSpec, KubeSpanConfigSpec, KubeSpanIdentitySpec } from '@talos-ts/machinery';
import { KubeSpanKernel } from '../../linux/kubespan.ts';
import { ULA_KUBESPAN } from './address.ts';
import { parseRange } from './ipset.ts';

/**
 * Addresses allowed by upstream's endpoint filters: a `!`-prefixed subnet excludes what it covers;
 * when there are positive subnets an address must be in one of them. Unparsable filters are
 * ignored (the config validation rejects them before they get here).
 */
export function filterAddresses(addresses: readonly string[], filters: readonly string[]): string[] {
  const include = filters.filter((f) => !f.startsWith('!')).map((f) => parseRange(f)).filter((r) => r !== undefined);
  const exclude = filters.filter((f) => f.startsWith('!')).map((f) => parseRange(f.slice(1))).filter((r) => r !== undefined);
  return addresses.filter((a) => {
    const r = parseRange(a);
    if (!r) return false;
    const inside = (f: { family: number; first: bigint; last: bigint }) => f.family === r.family && r.first >= f.first && r.last <= f.last;
    if (exclude.some(inside)) return false;
    return include.length === 0 || include.some(inside);
  });
}

const isKubeSpanAddress = (ip: string): boolean => {
  const r = parseRange(ip);
  return r !== undefined && r.family === 6 && ((r.first >> 120n) & 0xffn) === 0xfdn && ((r.first >> 64n) & 0xffn) === BigInt(ULA_KUBESPAN);
};

/**
 * What this node publishes about itself for KubeSpan (upstream's local affiliate): its key, its
 * mesh address, and an endpoint on the KubeSpan port for each of its addresses the filters allow
 * (never the mesh address itself), plus the configured extra endpoints.
 */
export function localKubeSpanAffiliate(identity: KubeSpanIdentitySpec, cfg: KubeSpanConfigSpec, nodeAddresses: readonly string[]): KubeSpanAffiliateSpec {
  const address = identity.address.split('/')[0] ?? '';
  const usable = nodeAddresses.filter((a) => a !== address && !isKubeSpanAddress(a));
  const ips = cfg.endpointFilters.length > 0 ? filterAddresses(usable, cfg.endpointFilters) : usable;
  const endpoints = ips.map((ip) => (ip.includes(':') ? `[${ip}]:${KubeSpanKernel.port}` : `${ip}:${KubeSpanKernel.port}`));
  for (const e of cfg.extraEndpoints) if (!endpoints.includes(e)) endpoints.push(e);
  return {
    publicKey: identity.publicKey,
    address,
    additionalAddresses: [],
    endpoints,
    ...(cfg.excludeAdvertisedNetworks.length > 0 ? { excludeAdvertisedNetworks: [...cfg.excludeAdvertisedNetworks] } : {}),
  };
}
