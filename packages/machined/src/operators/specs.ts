import type { Dhcp4Lease } from './dhcp4/lease.ts';
import type { Dhcp6Lease } from './dhcp6/lease.ts';

// What a DHCP lease becomes in the network resources, as upstream's operators produce it
// (dhcpparse.ParseDHCP4Ack and the DHCPv6 operator): plain objects with the YAML field names of
// AddressSpec, LinkSpec, RouteSpec, HostnameSpec, ResolverSpec and TimeServerSpec, all at the
// `operator` layer, for the network controllers to merge. No resource types here: those belong to
// the network package.

/** An AddressSpec's spec. */
export interface OperatorAddress {
  readonly address: string;
  readonly linkName: string;
  readonly family: 'inet4' | 'inet6';
  readonly scope: 'global';
  readonly flags: 'permanent';
  readonly priority: number;
  readonly layer: 'operator';
}

/** A RouteSpec's spec; `dst` and `gateway` are '' when absent (a default route, an on-link route). */
export interface OperatorRoute {
  readonly family: 'inet4';
  readonly dst: string;
  readonly src: string;
  readonly gateway: string;
  readonly outLinkName: string;
  readonly table: 'main';
  readonly priority: number;
  readonly scope: 'global' | 'link';
  readonly type: 'unicast';
  readonly flags: '';
  readonly protocol: 'boot';
  readonly layer: 'operator';
}

/** Everything one operator contributes. */
export interface OperatorSpecs {
  readonly addresses: readonly OperatorAddress[];
  readonly links: readonly { readonly name: string; readonly mtu: number; readonly up: true; readonly layer: 'operator' }[];
  readonly routes: readonly OperatorRoute[];
  readonly hostname: readonly { readonly hostname: string; readonly domainname: string; readonly layer: 'operator' }[];
  readonly resolvers: readonly { readonly dnsServers: readonly string[]; readonly searchDomains: readonly string[]; readonly layer: 'operator' }[];
  readonly timeServers: readonly { readonly timeServers: readonly string[]; readonly layer: 'operator' }[];
}

/** Options of {@link dhcp4Specs} and {@link dhcp6Specs}, as the DHCP operator settings of the machine config. */
export interface OperatorSpecOptions {
  readonly linkName: string;
  /** machine.network.interfaces[].dhcpOptions.routeMetric; upstream's default is 1024. */
  readonly routeMetric?: number;
  /** Take the hostname from the lease (upstream: only when the config sets none). */
  readonly useHostname?: boolean;
  /** dhcpOptions.skipRoutes inverted. */
  readonly useRoutes?: boolean;
}

/** Upstream's route metric for DHCP routes (network.DefaultRouteMetric). */
export const DEFAULT_ROUTE_METRIC = 1024;

/** The specs of a DHCPv4 lease. */
export function dhcp4Specs(lease: Dhcp4Lease, options: OperatorSpecOptions): OperatorSpecs {
  const metric = options.routeMetric ?? DEFAULT_ROUTE_METRIC;
  const link = options.linkName;
  const route = (dst: string, gateway: string, scope: 'global' | 'link'): OperatorRoute => ({
    family: 'inet4',
    dst: dst === '0.0.0.0/0' ? '' : dst,
    src: lease.address,
    gateway,
    outLinkName: link,
    table: 'main',
    priority: metric,
    scope,
    type: 'unicast',
    flags: '',
    protocol: 'boot',
    layer: 'operator',
  });
  const routes: OperatorRoute[] = [];
  if (options.useRoutes !== false) {
    const onLink = new Set<string>();
    for (const r of lease.routes) {
      routes.push(route(r.destination, r.gateway === '0.0.0.0' ? '' : r.gateway, 'global'));
      // A gateway outside the leased subnet is reached through an on-link host route first.
      if (r.gateway !== '0.0.0.0' && !inSubnet(r.gateway, lease.address, lease.prefixLength) && !onLink.has(r.gateway)) {
        onLink.add(r.gateway);
        routes.push(route(`${r.gateway}/32`, '', 'link'));
      }
    }
  }
  const hostname =
    options.useHostname !== false && lease.hostname
      ? [{ hostname: lease.hostname.split('.')[0]!, domainname: lease.domain ?? lease.hostname.split('.').slice(1).join('.'), layer: 'operator' as const }]
      : [];
  return {
    addresses: [{ address: lease.cidr, linkName: link, family: 'inet4', scope: 'global', flags: 'permanent', priority: metric, layer: 'operator' }],
    links: lease.mtu !== undefined ? [{ name: link, mtu: lease.mtu, up: true, layer: 'operator' }] : [],
    routes,
    hostname,
    resolvers: lease.dns.length > 0 || lease.searchDomains.length > 0 ? [{ dnsServers: lease.dns, searchDomains: lease.searchDomains, layer: 'operator' }] : [],
    timeServers: lease.ntp.length > 0 ? [{ timeServers: lease.ntp, layer: 'operator' }] : [],
  };
}

/** The specs of a DHCPv6 lease (routes come from router advertisements, not DHCPv6). */
export function dhcp6Specs(lease: Dhcp6Lease, options: OperatorSpecOptions): OperatorSpecs {
  const metric = options.routeMetric ?? DEFAULT_ROUTE_METRIC;
  return {
    addresses: [{ address: lease.cidr, linkName: options.linkName, family: 'inet6', scope: 'global', flags: 'permanent', priority: metric, layer: 'operator' }],
    links: [],
    routes: [],
    hostname: [],
    resolvers: lease.dns.length > 0 || lease.searchDomains.length > 0 ? [{ dnsServers: lease.dns, searchDomains: lease.searchDomains, layer: 'operator' }] : [],
    timeServers: lease.ntp.length > 0 ? [{ timeServers: lease.ntp, layer: 'operator' }] : [],
  };
}

function inSubnet(ip: string, net: string, prefix: number): boolean {
  const n = (s: string): number => s.split('.').reduce((a, p) => a * 256 + Number(p), 0) >>> 0;
  if (prefix === 0) return true;
  const mask = (~0 << (32 - prefix)) >>> 0;
  return (n(ip) & mask) >>> 0 === (n(net) & mask) >>> 0;
}
