import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { native } from './native.ts';

/** rtnetlink message types and flags we send. */
const RTM_NEWLINK = 16;
const RTM_NEWADDR = 20;
const RTM_NEWROUTE = 24;
const NLMSG_ERROR = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_CREATE = 0x400;
const NETLINK_ROUTE = 0;
const AF_INET = 2;
const IFF_UP = 0x1;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
/** The metric of the route the network controllers make from `ip=` (upstream's default route metric). */
const BOOT_ROUTE_METRIC = 1024;

/** One rtattr: 4-byte header then the payload, padded to 4 bytes. */
export function rtattr(type: number, payload: Buffer): Buffer {
  const len = 4 + payload.length;
  const out = Buffer.alloc((len + 3) & ~3);
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, 4);
  return out;
}

function ipv4(address: string): Buffer {
  if (!isIPv4(address)) throw new Error(`not an IPv4 address: ${address}`);
  return Buffer.from(address.split('.').map(Number));
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
}

/** A whole netlink message: nlmsghdr, then the body. */
export function nlmsg(type: number, flags: number, seq: number, body: Buffer): Buffer {
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(type, 4);
  head.writeUInt16LE(flags, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, body]);
}

/** RTM_NEWLINK body setting IFF_UP on an interface. */
export function linkUpMessage(index: number): Buffer {
  const ifi = Buffer.alloc(16);
  ifi.writeUInt8(0, 0);
  ifi.writeInt32LE(index, 4);
  ifi.writeUInt32LE(IFF_UP, 8);
  ifi.writeUInt32LE(IFF_UP, 12);
  return ifi;
}

/** RTM_NEWADDR body for an IPv4 address. */
export function addressMessage(index: number, address: string, prefixLength: number): Buffer {
  const ifa = Buffer.alloc(8);
  ifa.writeUInt8(AF_INET, 0);
  ifa.writeUInt8(prefixLength, 1);
  ifa.writeUInt32LE(index, 4);
  return Buffer.concat([ifa, rtattr(IFA_LOCAL, ipv4(address)), rtattr(IFA_ADDRESS, ipv4(address))]);
}

/**
 * RTM_NEWROUTE body for an IPv4 route (default when `destination` is absent). Protocol and metric
 * are those RouteSpecController gives the `ip=` default route, so the route made before the
 * controllers run is the very one they own afterwards (replaced, not doubled).
 */
export function routeMessage(index: number, gateway: string, destination?: { address: string; prefixLength: number }): Buffer {
  const rt = Buffer.alloc(12);
  rt.writeUInt8(AF_INET, 0);
  rt.writeUInt8(destination?.prefixLength ?? 0, 1);
  rt.writeUInt8(254, 4); // main table
  rt.writeUInt8(4, 5); // protocol: static
  rt.writeUInt8(0, 6); // scope: universe
  rt.writeUInt8(1, 7); // type: unicast
  const attrs = [rtattr(RTA_GATEWAY, ipv4(gateway)), rtattr(RTA_OIF, u32(index)), rtattr(RTA_PRIORITY, u32(BOOT_ROUTE_METRIC))];
  if (destination) attrs.unshift(rtattr(RTA_DST, ipv4(destination.address)));
  return Buffer.concat([rt, ...attrs]);
}

/** The errno of a netlink acknowledgement (0 = success), or undefined if it is not one. */
export function ackErrno(reply: Buffer, seq: number): number | undefined {
  for (let off = 0; off + 16 <= reply.length; ) {
    const len = reply.readUInt32LE(off);
    if (len < 16) break;
    if (reply.readUInt16LE(off + 4) === NLMSG_ERROR && reply.readUInt32LE(off + 8) === seq) return -reply.readInt32LE(off + 16);
    off += (len + 3) & ~3;
  }
  return undefined;
}

/** A blocking rtnetlink socket for the few changes the boot needs (link up, address, route). */
export class RouteSocket implements Disposable {
  readonly #fd: number;
  #seq = 1;

  constructor() {
    this.#fd = native().netlinkOpen(NETLINK_ROUTE);
  }

  /** Sends one request and waits for its acknowledgement; EEXIST counts as done. */
  request(type: number, flags: number, body: Buffer): void {
    const seq = this.#seq++;
    native().netlinkSend(this.#fd, nlmsg(type, flags | NLM_F_REQUEST | NLM_F_ACK, seq, body));
    for (;;) {
      const err = ackErrno(native().netlinkRecv(this.#fd), seq);
      if (err === undefined) continue;
      if (err === 0 || err === 17 /* EEXIST */) return;
      throw new Error(`netlink request ${type} failed: errno ${err}`);
    }
  }

  linkUp(index: number): void {
    this.request(RTM_NEWLINK, 0, linkUpMessage(index));
  }

  addAddress(index: number, address: string, prefixLength: number): void {
    this.request(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, addressMessage(index, address, prefixLength));
  }

  addRoute(index: number, gateway: string): void {
    this.request(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, routeMessage(index, gateway));
  }

  [Symbol.dispose](): void {
    native().close(this.#fd);
  }
}

/** An interface's index from sysfs. */
export function linkIndex(name: string, sysRoot = '/sys'): number {
  return Number(readFileSync(`${sysRoot}/class/net/${name}/ifindex`, 'utf8').trim());
}
