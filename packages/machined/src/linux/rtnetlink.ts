import { isIP } from 'node:net';
import { Code, TalosError } from '@talos-ts/cosi';
import { native } from './native.ts';
import { rtattr as attr } from './netlink.ts';

// rtnetlink wire constants (linux/rtnetlink.h, linux/if_link.h, linux/if_addr.h).
const NETLINK_ROUTE = 0;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_MULTI = 0x2;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const NLA_F_NESTED = 0x8000;

/** rtnetlink message types. */
export const RTM = {
  NEWLINK: 16,
  DELLINK: 17,
  GETLINK: 18,
  NEWADDR: 20,
  DELADDR: 21,
  GETADDR: 22,
  NEWROUTE: 24,
  DELROUTE: 25,
  GETROUTE: 26,
} as const;

/** Multicast groups (RTMGRP_*) of link, address and route notifications. */
export const RtnlGroups = {
  link: 0x1,
  address: 0x10 | 0x100,
  route: 0x40 | 0x400,
} as const;

const AF_INET = 2;
const AF_INET6 = 10;
const IFF_UP = 0x1;
const IFLA = { ADDRESS: 1, BROADCAST: 2, IFNAME: 3, MTU: 4, LINK: 5, QDISC: 6, MASTER: 10, OPERSTATE: 16, LINKINFO: 18 } as const;
const IFLA_INFO = { KIND: 1, DATA: 2, SLAVE_KIND: 4 } as const;
const IFLA_VLAN = { ID: 1, PROTOCOL: 5 } as const;
const IFLA_BOND = { MODE: 1, MIIMON: 3 } as const;
const IFA = { ADDRESS: 1, LOCAL: 2, BROADCAST: 4, FLAGS: 8 } as const;
const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, PREFSRC: 7, METRICS: 8, TABLE: 15 } as const;
const RTAX_MTU = 2;

const scopes: Record<number, string> = { 0: 'global', 200: 'site', 253: 'link', 254: 'host', 255: 'nowhere' };
const linkTypes: Record<number, string> = { 1: 'ether', 772: 'loopback', 776: 'sit', 65534: 'void', 768: 'ipip', 778: 'gre' };
const operStates = ['unknown', 'notPresent', 'down', 'lowerLayerDown', 'testing', 'dormant', 'up'];
const protocols: Record<number, string> = { 0: 'unspec', 1: 'redirect', 2: 'kernel', 3: 'boot', 4: 'static', 9: 'ra', 16: 'dhcp' };
const routeTypes = ['unspec', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat'];
const tables: Record<number, string> = { 0: 'unspec', 253: 'default', 254: 'main', 255: 'local' };
const bondModes = ['balance-rr', 'active-backup', 'balance-xor', 'broadcast', '802.3ad', 'balance-tlb', 'balance-alb'];
const linkFlagNames: [number, string][] = [
  [0x1, 'UP'],
  [0x2, 'BROADCAST'],
  [0x8, 'LOOPBACK'],
  [0x10, 'POINTOPOINT'],
  [0x40, 'RUNNING'],
  [0x80, 'NOARP'],
  [0x400, 'MASTER'],
  [0x800, 'SLAVE'],
  [0x1000, 'MULTICAST'],
  [0x10000, 'LOWER_UP'],
];
const addressFlagNames: [number, string][] = [
  [0x01, 'secondary'],
  [0x02, 'nodad'],
  [0x20, 'deprecated'],
  [0x40, 'tentative'],
  [0x80, 'permanent'],
];

/** A link as the kernel reports it. */
export interface KernelLink {
  readonly index: number;
  readonly name: string;
  readonly type: string;
  readonly flags: number;
  readonly flagNames: string;
  readonly up: boolean;
  readonly mtu: number;
  readonly hardwareAddr: string;
  readonly broadcastAddr: string;
  readonly linkIndex: number;
  readonly masterIndex: number;
  readonly operationalState: string;
  readonly qdisc: string;
  readonly kind: string;
  readonly slaveKind: string;
  readonly vlan?: { readonly vlanID: number; readonly vlanProtocol: string };
}

/** An address as the kernel reports it. */
export interface KernelAddress {
  readonly linkIndex: number;
  readonly family: 'inet4' | 'inet6';
  /** CIDR of the address (IFA_LOCAL when present, as `ip addr` shows it). */
  readonly address: string;
  readonly local?: string;
  readonly broadcast?: string;
  readonly scope: string;
  readonly flags: string;
}

/** A route as the kernel reports it. */
export interface KernelRoute {
  readonly family: 'inet4' | 'inet6';
  /** CIDR; '' for a default route. */
  readonly dst: string;
  readonly src: string;
  readonly gateway: string;
  readonly outLinkIndex: number;
  readonly table: string;
  readonly tableId: number;
  readonly priority: number;
  readonly scope: string;
  readonly type: string;
  readonly protocol: string;
  readonly mtu: number;
}

/** A logical link to create. */
export interface NewLink {
  readonly name: string;
  readonly kind: string;
  readonly parentIndex?: number;
  readonly vlan?: { readonly vlanID: number; readonly vlanProtocol: string };
  readonly bond?: { readonly mode: string; readonly miimon?: number };
  readonly mtu?: number;
}

/** A route to add or delete. */
export interface RouteRequest {
  readonly family: 'inet4' | 'inet6';
  readonly dst: string;
  readonly gateway: string;
  readonly src: string;
  readonly outLinkIndex: number;
  readonly tableId: number;
  readonly priority: number;
  readonly scope: string;
  readonly protocol: string;
  readonly mtu?: number;
}

// --- encoding ---

const u8 = (n: number): Buffer => Buffer.from([n]);
const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const cstr = (s: string): Buffer => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);

/** The bytes of an IPv4 or IPv6 address. */
export function ipBytes(ip: string): Buffer {
  const v = isIP(ip);
  if (v === 4) return Buffer.from(ip.split('.').map(Number));
  if (v !== 6) throw new TalosError(Code.InvalidArgument, `not an IP address: ${ip}`);
  let text = ip;
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two hex groups.
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad?.[1]) {
    const b = quad[1].split('.').map(Number);
    text = text.slice(0, -quad[1].length) + `${(((b[0] ?? 0) << 8) | (b[1] ?? 0)).toString(16)}:${(((b[2] ?? 0) << 8) | (b[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Text of an address in IPv4 dotted or canonical compressed IPv6 form (RFC 5952). */
export function ipText(b: Buffer): string {
  if (b.length === 4) return [...b].join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(b.readUInt16BE(i));
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = g.map((x) => x.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

function splitCidr(cidr: string): { ip: string; prefix: number; family: 'inet4' | 'inet6' } {
  const [ip = '', p] = cidr.split('/');
  const v = isIP(ip);
  if (v === 0) throw new TalosError(Code.InvalidArgument, `not a CIDR: ${cidr}`);
  const bits = v === 4 ? 32 : 128;
  const prefix = p === undefined ? bits : Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) throw new TalosError(Code.InvalidArgument, `not a CIDR: ${cidr}`);
  return { ip, prefix, family: v === 4 ? 'inet4' : 'inet6' };
}

function broadcastOf(ip: string, prefix: number): string | undefined {
  if (prefix >= 31) return undefined;
  const b = ipBytes(ip);
  const n = (b.readUInt32BE(0) | (0xffffffff >>> prefix)) >>> 0;
  const out = Buffer.alloc(4);
  out.writeUInt32BE(n);
  return ipText(out);
}

function nlmsg(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, body]);
}

function ifinfomsg(index: number, flags = 0, change = 0, family = 0): Buffer {
  const b = Buffer.alloc(16);
  b.writeUInt8(family, 0);
  b.writeInt32LE(index, 4);
  b.writeUInt32LE(flags, 8);
  b.writeUInt32LE(change, 12);
  return b;
}

const scopeNumber = (s: string): number => Number(Object.entries(scopes).find(([, v]) => v === s)?.[0] ?? 0);
const protocolNumber = (s: string): number => Number(Object.entries(protocols).find(([, v]) => v === s)?.[0] ?? 4);

function addressBody(index: number, cidr: string, scope: string): Buffer {
  const { ip, prefix, family } = splitCidr(cidr);
  const ifa = Buffer.alloc(8);
  ifa.writeUInt8(family === 'inet4' ? AF_INET : AF_INET6, 0);
  ifa.writeUInt8(prefix, 1);
  ifa.writeUInt8(scopeNumber(scope), 3);
  ifa.writeUInt32LE(index, 4);
  const attrs = [attr(IFA.LOCAL, ipBytes(ip)), attr(IFA.ADDRESS, ipBytes(ip))];
  const brd = family === 'inet4' ? broadcastOf(ip, prefix) : undefined;
  if (brd) attrs.push(attr(IFA.BROADCAST, ipBytes(brd)));
  return Buffer.concat([ifa, ...attrs]);
}

function routeBody(r: RouteRequest): Buffer {
  const dst = r.dst === '' ? undefined : splitCidr(r.dst);
  const rt = Buffer.alloc(12);
  rt.writeUInt8(r.family === 'inet4' ? AF_INET : AF_INET6, 0);
  rt.writeUInt8(dst?.prefix ?? 0, 1);
  rt.writeUInt8(r.tableId < 256 ? r.tableId : 252, 4);
  rt.writeUInt8(protocolNumber(r.protocol), 5);
  rt.writeUInt8(scopeNumber(r.scope), 6);
  rt.writeUInt8(1, 7); // unicast
  const attrs = [attr(RTA.TABLE, u32(r.tableId)), attr(RTA.PRIORITY, u32(r.priority))];
  if (dst) attrs.push(attr(RTA.DST, ipBytes(dst.ip)));
  if (r.gateway !== '') attrs.push(attr(RTA.GATEWAY, ipBytes(r.gateway)));
  if (r.src !== '') attrs.push(attr(RTA.PREFSRC, ipBytes(r.src)));
  if (r.outLinkIndex > 0) attrs.push(attr(RTA.OIF, u32(r.outLinkIndex)));
  if (r.mtu) attrs.push(attr(RTA.METRICS | NLA_F_NESTED, attr(RTAX_MTU, u32(r.mtu))));
  return Buffer.concat([rt, ...attrs]);
}

// --- decoding ---

/** One netlink message: header fields and body. */
export interface NlMessage {
  readonly type: number;
  readonly flags: number;
  readonly seq: number;
  readonly body: Buffer;
}

/** Splits a datagram into its netlink messages. */
export function parseMessages(buf: Buffer): NlMessage[] {
  const out: NlMessage[] = [];
  for (let off = 0; off + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(off);
    if (len < 16 || off + len > buf.length) break;
    out.push({ type: buf.readUInt16LE(off + 4), flags: buf.readUInt16LE(off + 6), seq: buf.readUInt32LE(off + 8), body: buf.subarray(off + 16, off + len) });
    off += (len + 3) & ~3;
  }
  return out;
}

function attrs(buf: Buffer, start: number): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let off = start; off + 4 <= buf.length; ) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > buf.length) break;
    out.set(buf.readUInt16LE(off + 2) & 0x3fff, buf.subarray(off + 4, off + len));
    off += (len + 3) & ~3;
  }
  return out;
}

const str = (b: Buffer | undefined): string => (b ? b.toString('utf8').replace(/\0.*$/s, '') : '');
const mac = (b: Buffer | undefined): string => (b ? [...b].map((x) => x.toString(16).padStart(2, '0')).join(':') : '');
const flagText = (flags: number, names: [number, string][]): string => names.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n).join(',');

/** Decodes an RTM_NEWLINK/DELLINK body. */
export function parseLink(body: Buffer): KernelLink {
  const type = body.readUInt16LE(2);
  const index = body.readInt32LE(4);
  const flags = body.readUInt32LE(8);
  const a = attrs(body, 16);
  const info = a.get(IFLA.LINKINFO);
  const li = info ? attrs(info, 0) : new Map<number, Buffer>();
  const kind = str(li.get(IFLA_INFO.KIND));
  let vlan: KernelLink['vlan'];
  if (kind === 'vlan') {
    const data = li.get(IFLA_INFO.DATA);
    const d = data ? attrs(data, 0) : new Map<number, Buffer>();
    const id = d.get(IFLA_VLAN.ID);
    const proto = d.get(IFLA_VLAN.PROTOCOL);
    vlan = { vlanID: id ? id.readUInt16LE(0) : 0, vlanProtocol: proto && proto.readUInt16BE(0) === 0x88a8 ? '802.1ad' : '802.1q' };
  }
  const oper = a.get(IFLA.OPERSTATE);
  return {
    index,
    name: str(a.get(IFLA.IFNAME)),
    type: linkTypes[type] ?? String(type),
    flags,
    flagNames: flagText(flags, linkFlagNames),
    up: (flags & IFF_UP) !== 0,
    mtu: a.get(IFLA.MTU)?.readUInt32LE(0) ?? 0,
    hardwareAddr: mac(a.get(IFLA.ADDRESS)),
    broadcastAddr: mac(a.get(IFLA.BROADCAST)),
    linkIndex: a.get(IFLA.LINK)?.readUInt32LE(0) ?? 0,
    masterIndex: a.get(IFLA.MASTER)?.readUInt32LE(0) ?? 0,
    operationalState: operStates[oper?.readUInt8(0) ?? 0] ?? 'unknown',
    qdisc: str(a.get(IFLA.QDISC)),
    kind,
    slaveKind: str(li.get(IFLA_INFO.SLAVE_KIND)),
    ...(vlan ? { vlan } : {}),
  };
}

/** Decodes an RTM_NEWADDR/DELADDR body. */
export function parseAddress(body: Buffer): KernelAddress {
  const fam = body.readUInt8(0);
  const prefix = body.readUInt8(1);
  const a = attrs(body, 8);
  const local = a.get(IFA.LOCAL);
  const address = a.get(IFA.ADDRESS);
  const ip = ipText(local ?? address ?? Buffer.alloc(fam === AF_INET ? 4 : 16));
  const flags = a.get(IFA.FLAGS)?.readUInt32LE(0) ?? body.readUInt8(2);
  const brd = a.get(IFA.BROADCAST);
  return {
    linkIndex: body.readUInt32LE(4),
    family: fam === AF_INET ? 'inet4' : 'inet6',
    address: `${ip}/${prefix}`,
    ...(local ? { local: ipText(local) } : {}),
    ...(brd ? { broadcast: ipText(brd) } : {}),
    scope: scopes[body.readUInt8(3)] ?? String(body.readUInt8(3)),
    flags: flagText(flags, addressFlagNames),
  };
}

/** Decodes an RTM_NEWROUTE/DELROUTE body. */
export function parseRoute(body: Buffer): KernelRoute {
  const fam = body.readUInt8(0);
  const a = attrs(body, 12);
  const tableId = a.get(RTA.TABLE)?.readUInt32LE(0) ?? body.readUInt8(4);
  const dst = a.get(RTA.DST);
  const metrics = a.get(RTA.METRICS);
  const mtu = metrics ? (attrs(metrics, 0).get(RTAX_MTU)?.readUInt32LE(0) ?? 0) : 0;
  return {
    family: fam === AF_INET ? 'inet4' : 'inet6',
    dst: dst ? `${ipText(dst)}/${body.readUInt8(1)}` : '',
    src: a.get(RTA.PREFSRC) ? ipText(a.get(RTA.PREFSRC) as Buffer) : '',
    gateway: a.get(RTA.GATEWAY) ? ipText(a.get(RTA.GATEWAY) as Buffer) : '',
    outLinkIndex: a.get(RTA.OIF)?.readUInt32LE(0) ?? 0,
    table: tables[tableId] ?? String(tableId),
    tableId,
    priority: a.get(RTA.PRIORITY)?.readUInt32LE(0) ?? 0,
    scope: scopes[body.readUInt8(6)] ?? String(body.readUInt8(6)),
    type: routeTypes[body.readUInt8(7)] ?? String(body.readUInt8(7)),
    protocol: protocols[body.readUInt8(5)] ?? String(body.readUInt8(5)),
    mtu,
  };
}

/** The routing table number of a table name (`main`, `local`, or a number as text). */
export function tableNumber(table: string): number {
  const named = Object.entries(tables).find(([, v]) => v === table);
  if (named) return Number(named[0]);
  const n = Number(table);
  if (!Number.isInteger(n) || n < 0) throw new TalosError(Code.InvalidArgument, `routing table ${JSON.stringify(table)} is not valid`);
  return n;
}

/** A failed netlink request, with the kernel's errno. */
export class NetlinkError extends TalosError {
  readonly errno: number;
  constructor(what: string, errno: number) {
    super(Code.FailedPrecondition, `${what}: errno ${errno}${errnoNames[errno] ? ` (${errnoNames[errno]})` : ''}`);
    this.errno = errno;
  }
}

const errnoNames: Record<number, string> = { 1: 'EPERM', 2: 'ENOENT', 3: 'ESRCH', 13: 'EACCES', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 95: 'EOPNOTSUPP', 99: 'EADDRNOTAVAIL', 101: 'ENETUNREACH' };

/** Options of {@link Rtnl}. */
export interface RtnlOptions {
  /** A network namespace file (`/run/netns/<name>`); default: machined's own namespace. */
  readonly netnsPath?: string;
}

/**
 * A request socket for rtnetlink: dumps of links, addresses and routes, and changes acknowledged one
 * by one. Blocking, but the kernel answers these in microseconds; notifications come through
 * {@link RtnlMonitor}, which never blocks.
 */
export class Rtnl implements Disposable {
  readonly #fd: number;
  #seq = 1;

  constructor(options: RtnlOptions = {}) {
    this.#fd = native().netlinkOpenIn(NETLINK_ROUTE, 0, options.netnsPath ?? '');
  }

  #request(what: string, type: number, flags: number, body: Buffer, tolerate: readonly number[] = []): void {
    const seq = this.#seq++;
    native().netlinkSend(this.#fd, nlmsg(type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, body));
    for (let i = 0; i < 1000; i++) {
      for (const m of parseMessages(native().netlinkRecv(this.#fd))) {
        if (m.seq !== seq || m.type !== NLMSG_ERROR) continue;
        const errno = -m.body.readInt32LE(0);
        if (errno === 0 || tolerate.includes(errno)) return;
        throw new NetlinkError(what, errno);
      }
    }
    throw new TalosError(Code.DeadlineExceeded, `${what}: no acknowledgement`);
  }

  #dump(type: number, body: Buffer): Buffer[] {
    const seq = this.#seq++;
    native().netlinkSend(this.#fd, nlmsg(type, NLM_F_REQUEST | NLM_F_DUMP, seq, body));
    const out: Buffer[] = [];
    // Each datagram carries many entries; a million of them is far past any real table.
    for (let datagrams = 0; datagrams < 1_000_000; datagrams++) {
      for (const m of parseMessages(native().netlinkRecv(this.#fd))) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE) return out;
        if (m.type === NLMSG_ERROR) {
          const errno = -m.body.readInt32LE(0);
          if (errno === 0) return out;
          throw new NetlinkError('netlink dump', errno);
        }
        out.push(m.body);
        if ((m.flags & NLM_F_MULTI) === 0) return out;
      }
    }
    throw new TalosError(Code.ResourceExhausted, 'netlink dump did not end');
  }

  /** Every link. */
  links(): KernelLink[] {
    return this.#dump(RTM.GETLINK, ifinfomsg(0)).map(parseLink);
  }

  /** Every address. */
  addresses(): KernelAddress[] {
    const ifa = Buffer.alloc(8);
    return this.#dump(RTM.GETADDR, ifa).map(parseAddress);
  }

  /** Every route of every table. */
  routes(): KernelRoute[] {
    const rt = Buffer.alloc(12);
    return this.#dump(RTM.GETROUTE, rt).map(parseRoute);
  }

  /** Creates a logical link (vlan, bond, bridge, dummy). */
  createLink(link: NewLink): void {
    let data: Buffer | undefined;
    if (link.kind === 'vlan' && link.vlan) {
      data = Buffer.concat([attr(IFLA_VLAN.ID, u16(link.vlan.vlanID)), attr(IFLA_VLAN.PROTOCOL, Buffer.from([link.vlan.vlanProtocol === '802.1ad' ? 0x88 : 0x81, link.vlan.vlanProtocol === '802.1ad' ? 0xa8 : 0x00]))]);
    } else if (link.kind === 'bond' && link.bond) {
      const mode = bondModes.indexOf(link.bond.mode);
      if (mode < 0) throw new TalosError(Code.InvalidArgument, `bond mode ${JSON.stringify(link.bond.mode)} is not known`);
      data = Buffer.concat([attr(IFLA_BOND.MODE, u8(mode)), ...(link.bond.miimon !== undefined ? [attr(IFLA_BOND.MIIMON, u32(link.bond.miimon))] : [])]);
    }
    const info = Buffer.concat([attr(IFLA_INFO.KIND, cstr(link.kind)), ...(data ? [attr(IFLA_INFO.DATA | NLA_F_NESTED, data)] : [])]);
    const body = Buffer.concat([
      ifinfomsg(0),
      attr(IFLA.IFNAME, cstr(link.name)),
      attr(IFLA.LINKINFO | NLA_F_NESTED, info),
      ...(link.parentIndex ? [attr(IFLA.LINK, u32(link.parentIndex))] : []),
      ...(link.mtu ? [attr(IFLA.MTU, u32(link.mtu))] : []),
    ]);
    this.#request(`create link ${link.name}`, RTM.NEWLINK, NLM_F_CREATE | NLM_F_EXCL, body);
  }

  /** Changes a link: up/down, MTU, master (0 = none). */
  setLink(index: number, change: { up?: boolean; mtu?: number; masterIndex?: number }): void {
    const flags = change.up === undefined ? 0 : change.up ? IFF_UP : 0;
    const mask = change.up === undefined ? 0 : IFF_UP;
    const body = Buffer.concat([
      ifinfomsg(index, flags, mask),
      ...(change.mtu ? [attr(IFLA.MTU, u32(change.mtu))] : []),
      ...(change.masterIndex !== undefined ? [attr(IFLA.MASTER, u32(change.masterIndex))] : []),
    ]);
    this.#request(`set link ${index}`, RTM.NEWLINK, 0, body);
  }

  /** Deletes a link. */
  deleteLink(index: number): void {
    this.#request(`delete link ${index}`, RTM.DELLINK, 0, ifinfomsg(index), [19]);
  }

  /** Adds (or refreshes) an address on a link. */
  addAddress(index: number, cidr: string, scope = 'global'): void {
    this.#request(`add address ${cidr}`, RTM.NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, addressBody(index, cidr, scope));
  }

  /** Removes an address from a link; absent already counts as done. */
  deleteAddress(index: number, cidr: string): void {
    this.#request(`delete address ${cidr}`, RTM.DELADDR, 0, addressBody(index, cidr, 'global'), [99]);
  }

  /** Adds or replaces a route. */
  addRoute(route: RouteRequest): void {
    this.#request(`add route ${route.dst || 'default'} via ${route.gateway || route.outLinkIndex}`, RTM.NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, routeBody(route));
  }

  /** Deletes a route; absent already counts as done. */
  deleteRoute(route: RouteRequest): void {
    this.#request(`delete route ${route.dst || 'default'}`, RTM.DELROUTE, 0, routeBody(route), [3]);
  }

  [Symbol.dispose](): void {
    native().close(this.#fd);
  }
}

/** What {@link RtnlMonitor} reports: the kinds that changed, or that notifications were lost. */
export interface RtnlEvent {
  readonly link: boolean;
  readonly address: boolean;
  readonly route: boolean;
  /** The socket overflowed (ENOBUFS): state must be dumped again. */
  readonly overflow: boolean;
}

/** Options of {@link RtnlMonitor}. */
export interface RtnlMonitorOptions extends RtnlOptions {
  /** RtnlGroups bits to join. */
  readonly groups: number;
  readonly onEvent: (event: RtnlEvent) => void;
}

/**
 * Kernel notifications of link, address and route changes, delivered on the event loop as the
 * socket becomes readable (uv_poll in the addon); nothing polls. Every waiting datagram is drained
 * per wake-up and reported as one event.
 */
export class RtnlMonitor implements Disposable {
  readonly #fd: number;
  readonly #watch: object;
  readonly #onEvent: (event: RtnlEvent) => void;
  #closed = false;
  /** Notifications received (for benchmarks and tests). */
  messages = 0;

  constructor(options: RtnlMonitorOptions) {
    this.#onEvent = options.onEvent;
    this.#fd = native().netlinkOpenIn(NETLINK_ROUTE, options.groups, options.netnsPath ?? '');
    this.#watch = native().fdWatch(this.#fd, () => this.#drain());
  }

  #drain(): void {
    if (this.#closed) return;
    const ev = { link: false, address: false, route: false, overflow: false };
    for (let i = 0; i < 100_000; i++) {
      let buf: Buffer | null;
      try {
        buf = native().netlinkRecvNonBlocking(this.#fd);
      } catch {
        // ENOBUFS: the kernel dropped notifications. Any other error cannot be thrown from here
        // (it would reach the event loop); either way the reader re-reads the whole state.
        ev.overflow = true;
        break;
      }
      if (buf === null) break;
      for (const m of parseMessages(buf)) {
        this.messages++;
        if (m.type === RTM.NEWLINK || m.type === RTM.DELLINK) ev.link = true;
        else if (m.type === RTM.NEWADDR || m.type === RTM.DELADDR) ev.address = true;
        else if (m.type === RTM.NEWROUTE || m.type === RTM.DELROUTE) ev.route = true;
      }
    }
    if (ev.link || ev.address || ev.route || ev.overflow) this.#onEvent(ev);
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    native().fdUnwatch(this.#watch);
    native().close(this.#fd);
  }
}

/** The kernel's networking as the network controllers use it: dumps, changes, notifications. */
export interface NetworkKernel extends Disposable {
  links(): KernelLink[];
  addresses(): KernelAddress[];
  routes(): KernelRoute[];
  createLink(link: NewLink): void;
  setLink(index: number, change: { up?: boolean; mtu?: number; masterIndex?: number }): void;
  deleteLink(index: number): void;
  addAddress(index: number, cidr: string, scope?: string): void;
  deleteAddress(index: number, cidr: string): void;
  addRoute(route: RouteRequest): void;
  deleteRoute(route: RouteRequest): void;
  /** Calls onEvent on the event loop for notifications of the given RtnlGroups. */
  watch(groups: number, onEvent: (event: RtnlEvent) => void): Disposable;
}

/**
 * The kernel of machined's network namespace, or of the one at `netnsPath` (tests, and nodes that
 * own a namespace). One request socket; each watch opens its own notification socket.
 */
export function openNetworkKernel(options: RtnlOptions = {}): NetworkKernel {
  const nl = new Rtnl(options);
  return {
    links: () => nl.links(),
    addresses: () => nl.addresses(),
    routes: () => nl.routes(),
    createLink: (l) => nl.createLink(l),
    setLink: (i, c) => nl.setLink(i, c),
    deleteLink: (i) => nl.deleteLink(i),
    addAddress: (i, c, s) => nl.addAddress(i, c, s),
    deleteAddress: (i, c) => nl.deleteAddress(i, c),
    addRoute: (r) => nl.addRoute(r),
    deleteRoute: (r) => nl.deleteRoute(r),
    watch: (groups, onEvent) => new RtnlMonitor({ ...options, groups, onEvent }),
    [Symbol.dispose]: () => nl[Symbol.dispose](),
  };
}
