/**
 * DHCPv6 messages (RFC 8415) and the options this client uses: a pure codec. As for DHCPv4, a
 * malformed option from the network is dropped with a warning, never thrown.
 */

/** DHCPv6 message types. */
export const Msg6 = {
  Solicit: 1,
  Advertise: 2,
  Request: 3,
  Renew: 5,
  Rebind: 6,
  Reply: 7,
  Release: 8,
} as const;

/** Option codes used here. */
export const Opt6 = {
  ClientId: 1,
  ServerId: 2,
  IaNa: 3,
  IaAddr: 5,
  Oro: 6,
  ElapsedTime: 8,
  StatusCode: 13,
  DnsServers: 23,
  DomainList: 24,
  Sntp: 31,
  Fqdn: 39,
  NtpServer: 56,
} as const;

/** Status codes (option 13). */
export const Status6 = { Success: 0, NoAddrsAvail: 2, NoBinding: 3, NotOnLink: 4 } as const;

/** One DHCPv6 message: type, 24-bit transaction id, options in order (codes may repeat). */
export interface Dhcp6Message {
  readonly type: number;
  readonly xid: number;
  readonly options: readonly (readonly [number, Buffer])[];
}

/** Encodes a message. */
export function encode6(msg: Dhcp6Message): Buffer {
  const head = Buffer.alloc(4);
  head[0] = msg.type;
  head.writeUIntBE(msg.xid & 0xffffff, 1, 3);
  return Buffer.concat([head, encodeOptions(msg.options)]);
}

/** Encodes a list of options (also the inside of IA_NA and IAADDR). */
export function encodeOptions(options: readonly (readonly [number, Buffer])[]): Buffer {
  const parts: Buffer[] = [];
  for (const [code, data] of options) {
    const h = Buffer.alloc(4);
    h.writeUInt16BE(code, 0);
    h.writeUInt16BE(data.length, 2);
    parts.push(h, data);
  }
  return Buffer.concat(parts);
}

/** Decodes a message; `warnings` names what was dropped. */
export function decode6(buf: Buffer): { value: Dhcp6Message; warnings: string[] } | { error: string } {
  if (buf.length < 4) return { error: `message too short: ${buf.length} bytes` };
  const warnings: string[] = [];
  return { value: { type: buf[0]!, xid: buf.readUIntBE(1, 3), options: decodeOptions(buf.subarray(4), 'message', warnings) }, warnings };
}

/** Decodes options, stopping with a warning at a truncated one. */
export function decodeOptions(buf: Buffer, where: string, warnings: string[]): [number, Buffer][] {
  const out: [number, Buffer][] = [];
  let i = 0;
  while (i < buf.length) {
    if (i + 4 > buf.length) {
      warnings.push(`${where}: truncated option header`);
      break;
    }
    const code = buf.readUInt16BE(i);
    const len = buf.readUInt16BE(i + 2);
    if (i + 4 + len > buf.length) {
      warnings.push(`${where}: option ${code} truncated (${len} bytes announced, ${buf.length - i - 4} present)`);
      break;
    }
    out.push([code, buf.subarray(i + 4, i + 4 + len)]);
    i += 4 + len;
  }
  return out;
}

/** The first option of a code. */
export function opt6(msg: Pick<Dhcp6Message, 'options'>, code: number): Buffer | undefined {
  return msg.options.find(([c]) => c === code)?.[1];
}

/** A DUID-LL (type 3) from an Ethernet MAC: stable for the link, as upstream's client uses. */
export function duidLL(mac: Buffer): Buffer {
  return Buffer.concat([Buffer.from([0, 3, 0, 1]), mac]);
}

/** An IPv6 address (16 bytes) as text, compressed. */
export function ip6ToString(b: Buffer, offset = 0): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(b.readUInt16BE(offset + i * 2));
  // Longest run of zero groups (length ≥ 2) becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}
