import { isIPv4 } from 'node:net';
import { Code, TalosError } from '@talos-ts/cosi';
import { ipToBytes } from '@talos-ts/machinery';
import { KubeSpanKernel, KubeSpanKernelState } from './kubespan.ts';
import { nlmsg, rtattr } from './netlink.ts';
import { NetlinkError, NetlinkProtocol, NetlinkSocket, type NetlinkSocketOptions } from './netlink-socket.ts';
import { WG_GENL_NAME, genlGetFamilyMessage, parseGenlFamilyId, parseWgDevicePeers, wgGetDeviceMessage, wgSetDeviceMessage, type WireGuardDeviceConfig, type WireGuardPeerInfo } from './wireguard.ts';

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_NEWADDR = 20;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_REPLACE = 0x100;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINKINFO = 18;
const IFLA_INFO_KIND = 1;
const IFF_UP = 0x1;
const IFA_LOCAL = 2;
const IFA_ADDRESS = 1;
const AF_INET = 2;
const AF_INET6 = 10;
const ENOENT = 2;
const ENODEV = 19;
const EEXIST = 17;
const EOPNOTSUPP = 95;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

function ifinfo(index: number, up: boolean): Buffer {
  const b = Buffer.alloc(16);
  b.writeInt32LE(index, 4);
  if (up) {
    b.writeUInt32LE(IFF_UP, 8);
    b.writeUInt32LE(IFF_UP, 12);
  }
  return b;
}

/** RTM_NEWLINK creating the `kubespan` WireGuard link (IFLA_LINKINFO kind "wireguard"). */
export function newWireGuardLinkMessage(name: string, mtu: number, seq: number): Buffer {
  const body = Buffer.concat([
    ifinfo(0, false),
    rtattr(IFLA_IFNAME, Buffer.from(`${name}\0`)),
    rtattr(IFLA_MTU, u32(mtu)),
    rtattr(IFLA_LINKINFO | 0x8000, rtattr(IFLA_INFO_KIND, Buffer.from('wireguard'))),
  ]);
  return nlmsg(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq, body);
}

const noWireGuard = (): TalosError =>
  new TalosError(Code.FailedPrecondition, 'the kernel has no WireGuard (module wireguard not loaded); KubeSpan needs it');

/**
 * The real `kubespan` link: created over rtnetlink (kind wireguard), addressed, brought up,
 * configured with WG_CMD_SET_DEVICE over generic netlink, read back with WG_CMD_GET_DEVICE, and
 * given the KubeSpan table's default routes. Structurally the manager's KubeSpanLink.
 */
export class WireGuardLink implements Disposable {
  readonly #route: NetlinkSocket;
  readonly #genl: NetlinkSocket;
  readonly #kernel: KubeSpanKernelState;
  #family: number | undefined;

  constructor(options: NetlinkSocketOptions = {}) {
    this.#route = new NetlinkSocket(NetlinkProtocol.ROUTE, options);
    this.#genl = new NetlinkSocket(NetlinkProtocol.GENERIC, options);
    this.#kernel = new KubeSpanKernelState(options);
  }

  /** Peers by public key; undefined while there is no link (or no WireGuard at all). */
  async peers(): Promise<ReadonlyMap<string, WireGuardPeerInfo> | undefined> {
    const family = this.#familyId(false);
    if (family === undefined) return undefined;
    const seq = this.#genl.nextSeq();
    let messages: Buffer[];
    try {
      messages = this.#genl.dump(wgGetDeviceMessage(family, seq, KubeSpanKernel.linkName), seq);
    } catch (err) {
      if (err instanceof NetlinkError && (err.errno === ENODEV || err.errno === ENOENT)) return undefined;
      throw err;
    }
    return new Map(parseWgDevicePeers(messages).map((p) => [p.publicKey, p]));
  }

  /** Creates the link if missing, then sets MTU, address, up, the WireGuard device and the routes. */
  async configure(device: WireGuardDeviceConfig, link: { readonly address: string; readonly mtu: number }): Promise<void> {
    const name = KubeSpanKernel.linkName;
    const created = this.#route.nextSeq();
    const errors0 = this.#route.exchange(newWireGuardLinkMessage(name, link.mtu, created), created, [EEXIST]);
    if (errors0.some((e) => e.errno === EOPNOTSUPP)) throw noWireGuard();
    if (errors0.length > 0) throw new TalosError(Code.Internal, `creating the KubeSpan link failed: errno ${errors0[0]?.errno}`);
    const index = this.#index(name);
    this.#ack(RTM_NEWLINK, 0, Buffer.concat([ifinfo(index, true), rtattr(IFLA_MTU, u32(link.mtu))]));
    const [ip = '', bits = ''] = link.address.split('/');
    const ifa = Buffer.alloc(8);
    ifa.writeUInt8(isIPv4(ip) ? AF_INET : AF_INET6, 0);
    ifa.writeUInt8(Number(bits), 1);
    ifa.writeUInt32LE(index, 4);
    this.#ack(RTM_NEWADDR, NLM_F_CREATE | NLM_F_REPLACE, Buffer.concat([ifa, rtattr(IFA_LOCAL, ipToBytes(ip)), rtattr(IFA_ADDRESS, ipToBytes(ip))]));
    const family = this.#familyId(true)!;
    const seq = this.#genl.nextSeq();
    const errors = this.#genl.exchange(wgSetDeviceMessage(family, seq, { ...device, ifname: name }), seq);
    if (errors.length > 0) throw new TalosError(Code.Internal, `WireGuard SET_DEVICE failed: errno ${errors[0]?.errno}`);
    this.#kernel.applyRoutes(index, link.mtu);
  }

  /** Deletes the link (its routes and address go with it); a missing link is fine. */
  async remove(): Promise<void> {
    const body = Buffer.concat([ifinfo(0, false), rtattr(IFLA_IFNAME, Buffer.from(`${KubeSpanKernel.linkName}\0`))]);
    const seq = this.#route.nextSeq();
    const errors = this.#route.exchange(nlmsg(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq, body), seq, [ENODEV]);
    if (errors.length > 0) throw new TalosError(Code.Internal, `deleting the KubeSpan link failed: errno ${errors[0]?.errno}`);
  }

  #familyId(required: boolean): number | undefined {
    if (this.#family !== undefined) return this.#family;
    const seq = this.#genl.nextSeq();
    try {
      this.#family = parseGenlFamilyId(this.#genl.query(genlGetFamilyMessage(WG_GENL_NAME, seq), seq));
    } catch (err) {
      if (!(err instanceof NetlinkError && err.errno === ENOENT)) throw err;
    }
    if (this.#family === undefined && required) throw noWireGuard();
    return this.#family;
  }

  #index(name: string): number {
    const seq = this.#route.nextSeq();
    const reply = this.#route.query(nlmsg(RTM_GETLINK, NLM_F_REQUEST, seq, Buffer.concat([ifinfo(0, false), rtattr(IFLA_IFNAME, Buffer.from(`${name}\0`))])), seq);
    return reply.readInt32LE(16 + 4);
  }

  #ack(type: number, flags: number, body: Buffer): void {
    const seq = this.#route.nextSeq();
    const errors = this.#route.exchange(nlmsg(type, NLM_F_REQUEST | NLM_F_ACK | flags, seq, body), seq);
    if (errors.length > 0) throw new TalosError(Code.Internal, `rtnetlink request ${type} failed: errno ${errors[0]?.errno}`);
  }

  [Symbol.dispose](): void {
    this.#route[Symbol.dispose]();
    this.#genl[Symbol.dispose]();
    this.#kernel[Symbol.dispose]();
  }
}
