import { Option, readIp, type Dhcp4Message } from './message.ts';

/** A route a DHCP server handed out (option 121, or the default route through option 3). */
export interface Dhcp4Route {
  /** Destination in CIDR form, `0.0.0.0/0` for the default route. */
  readonly destination: string;
  readonly gateway: string;
}

/** What a DHCPv4 lease gives the node: the narrow result the network resources are built from. */
export interface Dhcp4Lease {
  readonly address: string;
  readonly prefixLength: number;
  /** `address/prefixLength`. */
  readonly cidr: string;
  readonly serverId: string;
  /** The default gateway, if any (from option 121's default route, else the first router). */
  readonly gateway?: string;
  /** Routes to install; includes the default route when there is a gateway. */
  readonly routes: readonly Dhcp4Route[];
  readonly dns: readonly string[];
  readonly searchDomains: readonly string[];
  readonly hostname?: string;
  readonly domain?: string;
  readonly ntp: readonly string[];
  readonly mtu?: number;
  readonly times: Dhcp4LeaseTimes;
}

/** Lease timing, as the server gave it and when it was acquired on the client's clock. */
export interface Dhcp4LeaseTimes {
  readonly acquiredAtMs: number;
  readonly leaseSeconds: number;
  readonly renewSeconds: number;
  readonly rebindSeconds: number;
}

/** Lease time assumed when the server sends none (an ACK without option 51 is not RFC-valid). */
const DEFAULT_LEASE_SECONDS = 3600;
const INFINITE = 0xffffffff;

/**
 * Builds the lease from an ACK. Options that do not parse are left out and named in `warnings`;
 * the lease itself only needs yiaddr and a server id.
 */
export function leaseFromAck(ack: Dhcp4Message, acquiredAtMs: number): { lease?: Dhcp4Lease; warnings: string[] } {
  const warnings: string[] = [];
  const o = ack.options;
  const ips = (code: number, name: string): string[] => {
    const v = o.get(code);
    if (!v) return [];
    if (v.length === 0 || v.length % 4 !== 0) {
      warnings.push(`option ${code} (${name}): length ${v.length} is not a multiple of 4, ignored`);
      return [];
    }
    const out: string[] = [];
    for (let i = 0; i < v.length; i += 4) out.push(readIp(v, i));
    return out;
  };
  const u32 = (code: number, name: string): number | undefined => {
    const v = o.get(code);
    if (!v) return undefined;
    if (v.length !== 4) {
      warnings.push(`option ${code} (${name}): length ${v.length}, want 4, ignored`);
      return undefined;
    }
    return v.readUInt32BE(0);
  };
  const text = (code: number, name: string): string | undefined => {
    const v = o.get(code);
    if (!v) return undefined;
    // Some servers NUL-terminate strings.
    const s = v.toString('latin1').replace(/\0+$/, '');
    if (s.length === 0 || !/^[A-Za-z0-9._-]+$/.test(s) || s.length > 253) {
      warnings.push(`option ${code} (${name}): not a host or domain name, ignored`);
      return undefined;
    }
    return s;
  };

  const serverId = ips(Option.ServerId, 'server identifier')[0];
  if (ack.yiaddr === '0.0.0.0' || !serverId) {
    warnings.push('ACK without an address or a server identifier');
    return { warnings };
  }

  // Without a usable mask, the classful prefix of the address (what RFC 2131 clients assume).
  let prefixLength = classfulPrefix(ack.yiaddr);
  const mask = ips(Option.SubnetMask, 'subnet mask')[0];
  if (mask !== undefined) {
    const p = maskToPrefix(mask);
    if (p === undefined) warnings.push(`option 1 (subnet mask): ${mask} is not contiguous, ignored`);
    else prefixLength = p;
  }

  const routers = ips(Option.Router, 'router');
  let routes: Dhcp4Route[] = [];
  let gateway: string | undefined;
  const classless = o.get(Option.ClasslessStaticRoute);
  const parsed = classless ? parseClasslessRoutes(classless) : undefined;
  if (parsed && 'error' in parsed) warnings.push(`option 121 (classless static routes): ${parsed.error}, ignored`);
  if (parsed && 'routes' in parsed) {
    // RFC 3442: when option 121 is present the router option is ignored.
    routes = parsed.routes;
    gateway = routes.find((r) => r.destination === '0.0.0.0/0')?.gateway;
  } else if (routers[0]) {
    gateway = routers[0];
    routes = [{ destination: '0.0.0.0/0', gateway }];
  }

  let mtu: number | undefined;
  const mtuOpt = o.get(Option.InterfaceMtu);
  if (mtuOpt) {
    const v = mtuOpt.length === 2 ? mtuOpt.readUInt16BE(0) : undefined;
    if (v === undefined) warnings.push(`option 26 (interface MTU): length ${mtuOpt.length}, want 2, ignored`);
    else if (v < 68) warnings.push(`option 26 (interface MTU): ${v} below 68, ignored`);
    else mtu = v;
  }

  let searchDomains: string[] = [];
  const search = o.get(Option.DomainSearch);
  if (search) {
    const r = parseDomainSearch(search);
    if ('error' in r) warnings.push(`option 119 (domain search): ${r.error}, ignored`);
    else searchDomains = r.names;
  }
  const domain = text(Option.DomainName, 'domain name');
  if (searchDomains.length === 0 && domain) searchDomains = [domain];

  let leaseSeconds = u32(Option.LeaseTime, 'lease time') ?? DEFAULT_LEASE_SECONDS;
  if (leaseSeconds === INFINITE) leaseSeconds = Number.POSITIVE_INFINITY;
  let renewSeconds = u32(Option.RenewalTime, 'renewal time') ?? leaseSeconds / 2;
  let rebindSeconds = u32(Option.RebindingTime, 'rebinding time') ?? (leaseSeconds * 7) / 8;
  // Nonsense timers (T1 > T2 or past the lease) fall back to the RFC defaults.
  if (!(rebindSeconds <= leaseSeconds)) rebindSeconds = (leaseSeconds * 7) / 8;
  if (!(renewSeconds <= rebindSeconds)) renewSeconds = leaseSeconds / 2;

  const lease: Dhcp4Lease = {
    address: ack.yiaddr,
    prefixLength,
    cidr: `${ack.yiaddr}/${prefixLength}`,
    serverId,
    ...(gateway ? { gateway } : {}),
    routes,
    dns: ips(Option.DomainNameServer, 'DNS servers'),
    searchDomains,
    ...optional('hostname', text(Option.HostName, 'host name')),
    ...optional('domain', domain),
    ntp: ips(Option.NtpServers, 'NTP servers'),
    ...optional('mtu', mtu),
    times: { acquiredAtMs, leaseSeconds, renewSeconds, rebindSeconds },
  };
  return { lease, warnings };
}

function optional<K extends string, V>(key: K, v: V | undefined): { [P in K]?: V } {
  return (v === undefined ? {} : { [key]: v }) as { [P in K]?: V };
}

/** Prefix length of a contiguous netmask, undefined otherwise. */
export function maskToPrefix(mask: string): number | undefined {
  const n = mask.split('.').reduce((a, p) => a * 256 + Number(p), 0) >>> 0;
  const inv = ~n >>> 0;
  if ((inv & (inv + 1)) !== 0) return undefined;
  return 32 - Math.log2(inv + 1);
}

function classfulPrefix(ip: string): number {
  const first = Number(ip.split('.')[0]);
  return first < 128 ? 8 : first < 192 ? 16 : 24;
}

/** Decodes option 121 (RFC 3442): width, significant destination octets, gateway, repeated. */
export function parseClasslessRoutes(v: Buffer): { routes: Dhcp4Route[] } | { error: string } {
  const routes: Dhcp4Route[] = [];
  let i = 0;
  while (i < v.length) {
    const width = v[i]!;
    if (width > 32) return { error: `prefix width ${width} > 32` };
    const octets = Math.ceil(width / 8);
    if (i + 1 + octets + 4 > v.length) return { error: 'truncated route' };
    const dst = [0, 0, 0, 0];
    for (let k = 0; k < octets; k++) dst[k] = v[i + 1 + k]!;
    routes.push({ destination: `${dst.join('.')}/${width}`, gateway: readIp(v, i + 1 + octets) });
    i += 1 + octets + 4;
  }
  return { routes };
}

/** Decodes option 119 (RFC 3397): DNS wire-format names with compression pointers into the option. */
export function parseDomainSearch(v: Buffer): { names: string[] } | { error: string } {
  const names: string[] = [];
  let i = 0;
  while (i < v.length) {
    const labels: string[] = [];
    let p = i;
    let next = -1;
    // Each pointer must go backwards, which bounds the walk.
    let jumps = 0;
    for (;;) {
      if (p >= v.length) return { error: 'name runs past the option' };
      const len = v[p]!;
      if (len === 0) {
        if (next < 0) next = p + 1;
        break;
      }
      if ((len & 0xc0) === 0xc0) {
        if (p + 1 >= v.length) return { error: 'truncated pointer' };
        const target = ((len & 0x3f) << 8) | v[p + 1]!;
        if (target >= p || ++jumps > 64) return { error: 'bad compression pointer' };
        if (next < 0) next = p + 2;
        p = target;
        continue;
      }
      if (len > 63 || p + 1 + len > v.length) return { error: 'bad label length' };
      labels.push(v.toString('latin1', p + 1, p + 1 + len));
      p += 1 + len;
    }
    const name = labels.join('.');
    if (!/^[A-Za-z0-9._-]+$/.test(name)) return { error: `bad name ${JSON.stringify(name)}` };
    names.push(name);
    i = next;
  }
  return { names };
}
