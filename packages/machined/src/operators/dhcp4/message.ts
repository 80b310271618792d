/**
 * DHCPv4 messages (RFC 2131) and the options this client uses (RFC 2132, 3397, 3442): a pure codec.
 * Replies come from the network, so decoding never throws: a malformed option is dropped with a
 * warning and the rest of the message is kept; only a message too short or without the magic
 * cookie is rejected as a whole.
 */

/** DHCP message types (option 53). */
export const MessageType = {
  Discover: 1,
  Offer: 2,
  Request: 3,
  Decline: 4,
  Ack: 5,
  Nak: 6,
  Release: 7,
  Inform: 8,
} as const;

/** A value of {@link MessageType}. */
export type MessageTypeValue = (typeof MessageType)[keyof typeof MessageType];

/** Option codes used here. */
export const Option = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  DomainNameServer: 6,
  HostName: 12,
  DomainName: 15,
  InterfaceMtu: 26,
  BroadcastAddress: 28,
  NtpServers: 42,
  RequestedIp: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerId: 54,
  ParameterRequestList: 55,
  Message: 56,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClientId: 61,
  DomainSearch: 119,
  ClasslessStaticRoute: 121,
  End: 255,
} as const;

const MAGIC_COOKIE = 0x63825363;
const FIXED_LENGTH = 236;
const MIN_LENGTH = FIXED_LENGTH + 4;
/** BOOTP's minimum message size: some relays and servers drop anything shorter. */
const MIN_SEND_LENGTH = 300;

/** Flag asking the server to broadcast its reply (we cannot receive unicast before we have an address). */
export const FLAG_BROADCAST = 0x8000;

/** One DHCPv4 message; addresses are dotted quads, options raw by code. */
export interface Dhcp4Message {
  readonly op: 1 | 2;
  readonly xid: number;
  readonly secs: number;
  readonly flags: number;
  readonly ciaddr: string;
  readonly yiaddr: string;
  readonly siaddr: string;
  readonly giaddr: string;
  /** Client hardware address (6 bytes for Ethernet). */
  readonly chaddr: Buffer;
  readonly options: ReadonlyMap<number, Buffer>;
}

/** The outcome of {@link decodeMessage}. */
export type DecodeResult = { readonly value: Dhcp4Message; readonly warnings: readonly string[] } | { readonly error: string };

/** Encodes a message; options are written in map order and the End option is appended. */
export function encodeMessage(msg: Dhcp4Message): Buffer {
  const opts: Buffer[] = [];
  for (const [code, data] of msg.options) {
    // Options longer than 255 bytes are split into several of the same code (RFC 3396).
    for (let off = 0; off < data.length || off === 0; off += 255) {
      const chunk = data.subarray(off, off + 255);
      opts.push(Buffer.from([code, chunk.length]), chunk);
      if (data.length === 0) break;
    }
  }
  opts.push(Buffer.from([Option.End]));
  const body = Buffer.concat(opts);
  const out = Buffer.alloc(Math.max(MIN_SEND_LENGTH, MIN_LENGTH + body.length));
  out[0] = msg.op;
  out[1] = 1; // htype: Ethernet
  out[2] = msg.chaddr.length;
  out[3] = 0; // hops
  out.writeUInt32BE(msg.xid >>> 0, 4);
  out.writeUInt16BE(msg.secs & 0xffff, 8);
  out.writeUInt16BE(msg.flags & 0xffff, 10);
  writeIp(out, 12, msg.ciaddr);
  writeIp(out, 16, msg.yiaddr);
  writeIp(out, 20, msg.siaddr);
  writeIp(out, 24, msg.giaddr);
  msg.chaddr.copy(out, 28, 0, Math.min(16, msg.chaddr.length));
  out.writeUInt32BE(MAGIC_COOKIE, FIXED_LENGTH);
  body.copy(out, MIN_LENGTH);
  return out;
}

/** Decodes a message from the wire; see the module comment for how bad input is treated. */
export function decodeMessage(buf: Buffer): DecodeResult {
  if (buf.length < MIN_LENGTH) return { error: `message too short: ${buf.length} bytes` };
  if (buf.readUInt32BE(FIXED_LENGTH) !== MAGIC_COOKIE) return { error: 'no DHCP magic cookie' };
  const op = buf[0];
  if (op !== 1 && op !== 2) return { error: `bad op ${op}` };
  const hlen = Math.min(16, buf[2] ?? 0);
  const warnings: string[] = [];
  const parts = new Map<number, Buffer[]>();
  const scan = (area: Buffer, where: string): void => {
    let i = 0;
    while (i < area.length) {
      const code = area[i]!;
      if (code === Option.Pad) {
        i++;
        continue;
      }
      if (code === Option.End) return;
      if (i + 1 >= area.length) {
        warnings.push(`${where}: option ${code} truncated (no length)`);
        return;
      }
      const len = area[i + 1]!;
      if (i + 2 + len > area.length) {
        warnings.push(`${where}: option ${code} truncated (${len} bytes announced, ${area.length - i - 2} present)`);
        return;
      }
      const list = parts.get(code) ?? [];
      list.push(area.subarray(i + 2, i + 2 + len));
      parts.set(code, list);
      i += 2 + len;
    }
    warnings.push(`${where}: no End option`);
  };
  scan(buf.subarray(MIN_LENGTH), 'options');
  // Option overload (52): the file and sname fields carry more options.
  const overload = parts.get(Option.Overload)?.[0];
  if (overload && overload.length === 1) {
    const v = overload[0]!;
    if (v & 1) scan(buf.subarray(108, 236), 'file');
    if (v & 2) scan(buf.subarray(44, 108), 'sname');
  }
  const options = new Map<number, Buffer>();
  for (const [code, list] of parts) options.set(code, Buffer.concat(list));
  return {
    value: {
      op,
      xid: buf.readUInt32BE(4),
      secs: buf.readUInt16BE(8),
      flags: buf.readUInt16BE(10),
      ciaddr: readIp(buf, 12),
      yiaddr: readIp(buf, 16),
      siaddr: readIp(buf, 20),
      giaddr: readIp(buf, 24),
      chaddr: Buffer.from(buf.subarray(28, 28 + hlen)),
      options,
    },
    warnings,
  };
}

/** The message type (option 53), or undefined when missing or malformed. */
export function messageTypeOf(msg: Dhcp4Message): number | undefined {
  const v = msg.options.get(Option.MessageType);
  return v && v.length === 1 ? v[0] : undefined;
}

/** Writes a dotted quad at offset. */
export function writeIp(buf: Buffer, offset: number, ip: string): void {
  buf.writeUInt32BE(ipToInt(ip), offset);
}

/** Reads a dotted quad at offset. */
export function readIp(buf: Buffer, offset: number): string {
  return `${buf[offset]}.${buf[offset + 1]}.${buf[offset + 2]}.${buf[offset + 3]}`;
}

/** A dotted quad as an unsigned 32-bit number; throws on anything else (our own input only). */
export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: ${ip}`);
  return parts.reduce((acc, p) => acc * 256 + Number(p), 0) >>> 0;
}

/** An IPv4 address option value (4 bytes). */
export function ipBytes(ip: string): Buffer {
  const b = Buffer.alloc(4);
  writeIp(b, 0, ip);
  return b;
}
