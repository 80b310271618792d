import { isIPv4, isIPv6 } from 'node:net';
import { Code, TalosError } from '@talos-ts/cosi';
import { bytesToIp, ipToBytes } from '@talos-ts/machinery';
import { nla, nest } from './nftables.ts';

// WireGuard's generic netlink API (uapi linux/wireguard.h). The family id is assigned at module
// load, so it is asked from the controller family (genetlink.h) first. Integers are host order.
const GENL_ID_CTRL = 0x10;
const CTRL_CMD_GETFAMILY = 3;
const CTRL_ATTR_FAMILY_ID = 1;
const CTRL_ATTR_FAMILY_NAME = 2;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;

/** Generic netlink family name and version of WireGuard. */
export const WG_GENL_NAME = 'wireguard';
export const WG_GENL_VERSION = 1;
/** WireGuard commands. */
export const WgCmd = { GET_DEVICE: 0, SET_DEVICE: 1 } as const;

const WGDEVICE_A_IFINDEX = 1;
const WGDEVICE_A_IFNAME = 2;
const WGDEVICE_A_PRIVATE_KEY = 3;
const WGDEVICE_A_FLAGS = 5;
const WGDEVICE_A_LISTEN_PORT = 6;
const WGDEVICE_A_FWMARK = 7;
const WGDEVICE_A_PEERS = 8;
const WGDEVICE_F_REPLACE_PEERS = 1;
const WGPEER_A_PUBLIC_KEY = 1;
const WGPEER_A_PRESHARED_KEY = 2;
const WGPEER_A_FLAGS = 3;
const WGPEER_A_ENDPOINT = 4;
const WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL = 5;
const WGPEER_A_ALLOWEDIPS = 9;
const WGPEER_F_REMOVE_ME = 1;
const WGPEER_F_REPLACE_ALLOWEDIPS = 2;
const WGALLOWEDIP_A_FAMILY = 1;
const WGALLOWEDIP_A_IPADDR = 2;
const WGALLOWEDIP_A_CIDR_MASK = 3;
const AF_INET = 2;
const AF_INET6 = 10;

/** One peer as WG_CMD_SET_DEVICE sets it. Keys are base64 as `wg` prints them. */
export interface WireGuardPeerConfig {
  readonly publicKey: string;
  readonly presharedKey?: string;
  /** `ip:port` or `[ip6]:port`. */
  readonly endpoint?: string;
  readonly persistentKeepaliveSeconds?: number;
  /** CIDR prefixes. */
  readonly allowedIPs: readonly string[];
  /** Replace (not add to) the peer's allowed IPs. */
  readonly replaceAllowedIPs?: boolean;
  readonly remove?: boolean;
}

/** A device configuration for WG_CMD_SET_DEVICE. */
export interface WireGuardDeviceConfig {
  readonly ifname?: string;
  readonly ifindex?: number;
  readonly privateKey?: string;
  readonly listenPort?: number;
  readonly firewallMark?: number;
  /** Drop peers not listed. */
  readonly replacePeers?: boolean;
  readonly peers: readonly WireGuardPeerConfig[];
}

const u16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
};
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

function key(text: string, what: string): Buffer {
  const b = Buffer.from(text, 'base64');
  if (b.length !== 32) throw new TalosError(Code.InvalidArgument, `${what}: want 32 bytes of base64, got ${b.length}`);
  return b;
}

/** struct sockaddr_in / sockaddr_in6 for an `ip:port` endpoint (port in network order). */
export function sockaddr(endpoint: string): Buffer {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(endpoint);
  const m = v6 ?? /^([^:]+):(\d+)$/.exec(endpoint);
  const ip = m?.[1] ?? '';
  const port = Number(m?.[2]);
  if (!m || !(port > 0 && port < 65536) || !(v6 ? isIPv6(ip) : isIPv4(ip))) throw new TalosError(Code.InvalidArgument, `endpoint ${JSON.stringify(endpoint)} is not ip:port`);
  const v4 = isIPv4(ip);
  const out = Buffer.alloc(v4 ? 16 : 28);
  out.writeUInt16LE(v4 ? AF_INET : AF_INET6, 0);
  out.writeUInt16BE(port, 2);
  ipToBytes(ip).copy(out, v4 ? 4 : 8);
  return out;
}

function allowedIp(prefix: string): Buffer {
  const [ip = '', bits] = prefix.split('/');
  const v4 = isIPv4(ip);
  if (!v4 && !isIPv6(ip)) throw new TalosError(Code.InvalidArgument, `allowed IP ${JSON.stringify(prefix)} is not a prefix`);
  const mask = bits === undefined ? (v4 ? 32 : 128) : Number(bits);
  return nest(0, nla(WGALLOWEDIP_A_FAMILY, u16(v4 ? AF_INET : AF_INET6)), nla(WGALLOWEDIP_A_IPADDR, ipToBytes(ip)), nla(WGALLOWEDIP_A_CIDR_MASK, Buffer.from([mask])));
}

function peer(p: WireGuardPeerConfig): Buffer {
  const flags = (p.remove ? WGPEER_F_REMOVE_ME : 0) | (p.replaceAllowedIPs ? WGPEER_F_REPLACE_ALLOWEDIPS : 0);
  const attrs = [nla(WGPEER_A_PUBLIC_KEY, key(p.publicKey, 'peer public key'))];
  if (p.presharedKey !== undefined) attrs.push(nla(WGPEER_A_PRESHARED_KEY, key(p.presharedKey, 'pre-shared key')));
  if (flags !== 0) attrs.push(nla(WGPEER_A_FLAGS, u32(flags)));
  if (p.endpoint !== undefined) attrs.push(nla(WGPEER_A_ENDPOINT, sockaddr(p.endpoint)));
  if (p.persistentKeepaliveSeconds !== undefined) attrs.push(nla(WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, u16(p.persistentKeepaliveSeconds)));
  if (p.allowedIPs.length > 0) attrs.push(nest(WGPEER_A_ALLOWEDIPS, ...p.allowedIPs.map(allowedIp)));
  // Array entries are nested attributes whose type is ignored; 0 as wg(8) sends.
  return nest(0, ...attrs);
}

function genl(familyId: number, seq: number, cmd: number, version: number, attrs: Buffer[]): Buffer {
  const body = Buffer.concat([Buffer.from([cmd, version, 0, 0]), ...attrs]);
  const head = Buffer.alloc(16);
  head.writeUInt32LE(16 + body.length, 0);
  head.writeUInt16LE(familyId, 4);
  head.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK, 6);
  head.writeUInt32LE(seq, 8);
  return Buffer.concat([head, body]);
}

/** WG_CMD_SET_DEVICE for `cfg`, addressed to the WireGuard family id the kernel assigned. */
export function wgSetDeviceMessage(familyId: number, seq: number, cfg: WireGuardDeviceConfig): Buffer {
  const attrs: Buffer[] = [];
  if (cfg.ifindex !== undefined) attrs.push(nla(WGDEVICE_A_IFINDEX, u32(cfg.ifindex)));
  if (cfg.ifname !== undefined) attrs.push(nla(WGDEVICE_A_IFNAME, Buffer.from(`${cfg.ifname}\0`)));
  if (cfg.privateKey !== undefined) attrs.push(nla(WGDEVICE_A_PRIVATE_KEY, key(cfg.privateKey, 'private key')));
  if (cfg.listenPort !== undefined) attrs.push(nla(WGDEVICE_A_LISTEN_PORT, u16(cfg.listenPort)));
  if (cfg.firewallMark !== undefined) attrs.push(nla(WGDEVICE_A_FWMARK, u32(cfg.firewallMark)));
  if (cfg.replacePeers) attrs.push(nla(WGDEVICE_A_FLAGS, u32(WGDEVICE_F_REPLACE_PEERS)));
  if (cfg.peers.length > 0) attrs.push(nest(WGDEVICE_A_PEERS, ...cfg.peers.map(peer)));
  return genl(familyId, seq, WgCmd.SET_DEVICE, WG_GENL_VERSION, attrs);
}

/** CTRL_CMD_GETFAMILY for a generic netlink family name (the answer carries its id). */
export function genlGetFamilyMessage(name: string, seq: number): Buffer {
  return genl(GENL_ID_CTRL, seq, CTRL_CMD_GETFAMILY, 1, [nla(CTRL_ATTR_FAMILY_NAME, Buffer.from(`${name}\0`))]);
}

/** The family id in a CTRL_CMD_NEWFAMILY answer, or undefined when the reply holds none (e.g. an error). */
export function parseGenlFamilyId(reply: Buffer): number | undefined {
  if (reply.length < 20 || reply.readUInt16LE(4) !== GENL_ID_CTRL) return undefined;
  const end = Math.min(reply.length, reply.readUInt32LE(0));
  for (let off = 20; off + 4 <= end; ) {
    const len = reply.readUInt16LE(off);
    if (len < 4) break;
    if ((reply.readUInt16LE(off + 2) & 0x3fff) === CTRL_ATTR_FAMILY_ID && len >= 6) return reply.readUInt16LE(off + 4);
    off += (len + 3) & ~3;
  }
  return undefined;
}

const NLM_F_DUMP = 0x300;
const WGPEER_A_LAST_HANDSHAKE_TIME = 6;
const WGPEER_A_RX_BYTES = 7;
const WGPEER_A_TX_BYTES = 8;

/** WG_CMD_GET_DEVICE for the named device, as a dump (the kernel may split peers over messages). */
export function wgGetDeviceMessage(familyId: number, seq: number, ifname: string): Buffer {
  const msg = genl(familyId, seq, WgCmd.GET_DEVICE, WG_GENL_VERSION, [nla(WGDEVICE_A_IFNAME, Buffer.from(`${ifname}\0`))]);
  msg.writeUInt16LE(NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, 6);
  return msg;
}

/** A peer as WG_CMD_GET_DEVICE reports it. */
export interface WireGuardPeerInfo {
  readonly publicKey: string;
  /** `ip:port`, '' when the peer has none yet. */
  readonly endpoint: string;
  /** Epoch ms; undefined when there never was a handshake (the kernel reports 0). */
  readonly lastHandshakeMs: number | undefined;
  readonly receiveBytes: number;
  readonly transmitBytes: number;
}

function* attrs(buf: Buffer, start: number, end: number): Generator<{ type: number; value: Buffer }> {
  for (let off = start; off + 4 <= end; ) {
    const len = buf.readUInt16LE(off);
    if (len < 4 || off + len > end) return;
    yield { type: buf.readUInt16LE(off + 2) & 0x3fff, value: buf.subarray(off + 4, off + len) };
    off += (len + 3) & ~3;
  }
}

function endpointText(sa: Buffer): string {
  if (sa.length >= 16 && sa.readUInt16LE(0) === AF_INET) return `${[...sa.subarray(4, 8)].join('.')}:${sa.readUInt16BE(2)}`;
  if (sa.length >= 28 && sa.readUInt16LE(0) === AF_INET6) return `[${bytesToIp(sa.subarray(8, 24))}]:${sa.readUInt16BE(2)}`;
  return '';
}

/** The peers in the messages of a WG_CMD_GET_DEVICE dump. */
export function parseWgDevicePeers(messages: readonly Buffer[]): WireGuardPeerInfo[] {
  const out: WireGuardPeerInfo[] = [];
  for (const m of messages) {
    const end = Math.min(m.length, m.readUInt32LE(0));
    for (const a of attrs(m, 20, end)) {
      if (a.type !== WGDEVICE_A_PEERS) continue;
      for (const p of attrs(a.value, 0, a.value.length)) {
        let publicKey = '';
        let endpoint = '';
        let lastHandshakeMs: number | undefined;
        let receiveBytes = 0;
        let transmitBytes = 0;
        for (const f of attrs(p.value, 0, p.value.length)) {
          if (f.type === WGPEER_A_PUBLIC_KEY && f.value.length === 32) publicKey = f.value.toString('base64');
          else if (f.type === WGPEER_A_ENDPOINT) endpoint = endpointText(f.value);
          else if (f.type === WGPEER_A_LAST_HANDSHAKE_TIME && f.value.length >= 16) {
            // struct __kernel_timespec: s64 seconds, s64 nanoseconds.
            const ms = Number(f.value.readBigInt64LE(0)) * 1000 + Math.floor(Number(f.value.readBigInt64LE(8)) / 1e6);
            lastHandshakeMs = ms === 0 ? undefined : ms;
          } else if (f.type === WGPEER_A_RX_BYTES && f.value.length >= 8) receiveBytes = Number(f.value.readBigUInt64LE(0));
          else if (f.type === WGPEER_A_TX_BYTES && f.value.length >= 8) transmitBytes = Number(f.value.readBigUInt64LE(0));
        }
        if (publicKey !== '') out.push({ publicKey, endpoint, lastHandshakeMs, receiveBytes, transmitBytes });
      }
    }
  }
  return out;
}
