// A small DER (X.690 Distinguished Encoding Rules) encoder and decoder: just what X.509
// certificates, PKCS#10 requests and key containers need. Node's crypto signs and verifies
// but cannot build these structures, so we assemble the bytes ourselves.
//
// The decoder reads untrusted bytes (CSRs sent to trustd): every length is checked against the
// buffer, nesting is bounded, and every failure is a DerError.

import { Code, TalosError } from '@talos-ts/cosi';

/** ASN.1 universal tag numbers used here. */
export const Tag = {
  Boolean: 0x01,
  Integer: 0x02,
  BitString: 0x03,
  OctetString: 0x04,
  Null: 0x05,
  Oid: 0x06,
  Utf8String: 0x0c,
  Sequence: 0x30,
  Set: 0x31,
  PrintableString: 0x13,
  Ia5String: 0x16,
  UtcTime: 0x17,
  GeneralizedTime: 0x18,
} as const;

function encodeLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** Encodes one TLV with a single identifier octet (all tags we use are below 31). */
export function derTlv(identifier: number, content: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([identifier]), encodeLength(content.length), content]);
}

/** SEQUENCE of already-encoded elements. */
export function derSequence(...items: readonly Uint8Array[]): Buffer {
  return derTlv(Tag.Sequence, Buffer.concat(items));
}

/** SET OF already-encoded elements, sorted as DER requires. */
export function derSet(...items: readonly Uint8Array[]): Buffer {
  const sorted = [...items].map((i) => Buffer.from(i)).sort(Buffer.compare);
  return derTlv(Tag.Set, Buffer.concat(sorted));
}

/** INTEGER from a bigint (non-negative) or from big-endian magnitude bytes. */
export function derInteger(value: bigint | number | Uint8Array): Buffer {
  let bytes: Buffer;
  if (value instanceof Uint8Array) {
    bytes = Buffer.from(value);
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) start++;
    bytes = bytes.subarray(start);
  } else {
    let v = BigInt(value);
    if (v < 0n) throw new RangeError('derInteger: negative integers are not supported');
    const out: number[] = [];
    do {
      out.unshift(Number(v & 0xffn));
      v >>= 8n;
    } while (v > 0n);
    bytes = Buffer.from(out);
  }
  if (bytes.length === 0) bytes = Buffer.from([0]);
  // A set high bit would make the value negative in two's complement.
  if ((bytes[0] ?? 0) & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return derTlv(Tag.Integer, bytes);
}

/** BOOLEAN. */
export function derBoolean(value: boolean): Buffer {
  return derTlv(Tag.Boolean, Buffer.from([value ? 0xff : 0x00]));
}

/** NULL. */
export function derNull(): Buffer {
  return Buffer.from([Tag.Null, 0]);
}

/** OCTET STRING. */
export function derOctetString(content: Uint8Array): Buffer {
  return derTlv(Tag.OctetString, content);
}

/** BIT STRING with the given count of unused trailing bits in the last byte. */
export function derBitString(content: Uint8Array, unusedBits = 0): Buffer {
  return derTlv(Tag.BitString, Buffer.concat([Buffer.from([unusedBits]), content]));
}

/** OBJECT IDENTIFIER from dotted text. */
export function derOid(oid: string): Buffer {
  const parts = oid.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new RangeError(`derOid: bad arc in ${oid}`);
    return BigInt(p);
  });
  const [first, second, ...rest] = parts;
  if (first === undefined || second === undefined) throw new RangeError(`derOid: ${oid} needs two arcs`);
  const out: number[] = [];
  for (const arc of [first * 40n + second, ...rest]) {
    const chunk: number[] = [Number(arc & 0x7fn)];
    for (let v = arc >> 7n; v > 0n; v >>= 7n) chunk.unshift(Number(v & 0x7fn) | 0x80);
    out.push(...chunk);
  }
  return derTlv(Tag.Oid, Buffer.from(out));
}

/** UTF8String. */
export function derUtf8String(text: string): Buffer {
  return derTlv(Tag.Utf8String, Buffer.from(text, 'utf8'));
}

/** PrintableString when the text fits its alphabet, else UTF8String (as Go's encoder chooses). */
export function derDirectoryString(text: string): Buffer {
  return /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text)
    ? derTlv(Tag.PrintableString, Buffer.from(text, 'ascii'))
    : derUtf8String(text);
}

/** IA5String (ASCII). */
export function derIa5String(text: string): Buffer {
  return derTlv(Tag.Ia5String, Buffer.from(text, 'ascii'));
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

/** Time as RFC 5280 wants it: UTCTime through 2049, GeneralizedTime after; whole seconds. */
export function derTime(date: Date): Buffer {
  const y = date.getUTCFullYear();
  const rest =
    pad(date.getUTCMonth() + 1, 2) +
    pad(date.getUTCDate(), 2) +
    pad(date.getUTCHours(), 2) +
    pad(date.getUTCMinutes(), 2) +
    pad(date.getUTCSeconds(), 2) +
    'Z';
  if (y >= 1950 && y < 2050) return derTlv(Tag.UtcTime, Buffer.from(pad(y % 100, 2) + rest, 'ascii'));
  return derTlv(Tag.GeneralizedTime, Buffer.from(pad(y, 4) + rest, 'ascii'));
}

/** Context-specific tag [n]; constructed for EXPLICIT wrapping or IMPLICIT constructed types. */
export function derContext(tagNumber: number, content: Uint8Array, constructed: boolean): Buffer {
  if (tagNumber > 30) throw new RangeError('derContext: tag numbers above 30 are not supported');
  return derTlv(0x80 | (constructed ? 0x20 : 0) | tagNumber, content);
}

/** One decoded TLV. `raw` is the full encoding, `content` the value octets. */
export interface DerNode {
  readonly tagClass: 'universal' | 'application' | 'context' | 'private';
  readonly constructed: boolean;
  readonly tagNumber: number;
  /** The identifier octet, e.g. 0x30 for SEQUENCE, 0xa0 for [0] constructed. */
  readonly identifier: number;
  readonly content: Buffer;
  readonly raw: Buffer;
  /** Children of a constructed node, decoded eagerly. */
  readonly children: readonly DerNode[];
}

/**
 * A DER parse failure: names the byte offset where decoding stopped. Malformed input is the
 * caller's fault, so it carries InvalidArgument and maps onto that gRPC code at the API edge.
 */
export class DerError extends TalosError {
  constructor(
    message: string,
    readonly offset?: number,
    options: { readonly cause?: unknown } = {},
  ) {
    super(Code.InvalidArgument, offset === undefined ? `DER: ${message}` : `DER: ${message} at byte ${offset}`, options);
    this.name = 'DerError';
  }
}

/**
 * Longest encoding of one OBJECT IDENTIFIER arc we read: 20 base-128 digits hold 140 bits, more
 * than the 128-bit UUID arcs under 2.25 need. Without a bound a hostile arc of a megabyte would be
 * shifted into one ever-growing bigint, quadratic in its length.
 */
export const MAX_OID_ARC_BYTES = 20;

const classes = ['universal', 'application', 'context', 'private'] as const;

function decodeAt(buf: Buffer, offset: number, depth: number): { node: DerNode; end: number } {
  if (depth > 64) throw new DerError('nesting too deep', offset);
  const identifier = buf[offset];
  if (identifier === undefined) throw new DerError('unexpected end of data', offset);
  const tagNumber = identifier & 0x1f;
  if (tagNumber === 0x1f) throw new DerError('multi-byte tags are not supported', offset);
  let pos = offset + 1;
  const first = buf[pos++];
  if (first === undefined) throw new DerError('missing length', pos - 1);
  let length = first;
  if (first & 0x80) {
    const count = first & 0x7f;
    if (count === 0 || count > 4) throw new DerError('unsupported length form', pos - 1);
    length = 0;
    for (let i = 0; i < count; i++) {
      const b = buf[pos++];
      if (b === undefined) throw new DerError('truncated length', pos - 1);
      length = length * 256 + b;
    }
  }
  const end = pos + length;
  if (end > buf.length) throw new DerError(`length ${length} runs past the end`, offset);
  const content = buf.subarray(pos, end);
  const constructed = (identifier & 0x20) !== 0;
  const children: DerNode[] = [];
  if (constructed) {
    let p = pos;
    while (p < end) {
      const child = decodeAt(buf, p, depth + 1);
      if (child.end > end) throw new DerError('child runs past its parent', p);
      children.push(child.node);
      p = child.end;
    }
  }
  const node: DerNode = {
    tagClass: classes[identifier >> 6] ?? 'universal',
    constructed,
    tagNumber,
    identifier,
    content,
    raw: buf.subarray(offset, end),
    children,
  };
  return { node, end };
}

/** Decodes exactly one DER element spanning the whole input. */
export function decodeDer(input: Uint8Array): DerNode {
  const buf = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  const { node, end } = decodeAt(buf, 0, 0);
  if (end !== buf.length) throw new DerError('trailing data', end);
  return node;
}

/** Decodes an OBJECT IDENTIFIER node's content into dotted text. */
export function readOid(node: DerNode): string {
  if (node.identifier !== Tag.Oid) throw new DerError('expected OBJECT IDENTIFIER', 0);
  const arcs: bigint[] = [];
  let v = 0n;
  let digits = 0;
  for (const [i, b] of node.content.entries()) {
    if (digits === 0 && b === 0x80) throw new DerError('OBJECT IDENTIFIER arc with a leading zero digit', i);
    if (++digits > MAX_OID_ARC_BYTES) throw new DerError(`OBJECT IDENTIFIER arc longer than ${MAX_OID_ARC_BYTES} bytes`, i);
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) {
      arcs.push(v);
      v = 0n;
      digits = 0;
    }
  }
  if (digits !== 0) throw new DerError('OBJECT IDENTIFIER ends inside an arc', node.content.length);
  const [head, ...rest] = arcs;
  if (head === undefined) throw new DerError('empty OBJECT IDENTIFIER', 0);
  const first = head < 80n ? head / 40n : 2n;
  return [first, head - first * 40n, ...rest].map(String).join('.');
}

/** Decodes an INTEGER node as a non-negative bigint. */
export function readInteger(node: DerNode): bigint {
  if (node.identifier !== Tag.Integer) throw new DerError('expected INTEGER', 0);
  if (node.content.length === 0) throw new DerError('empty INTEGER', 0);
  // Through hex: linear in the length, where shifting byte by byte would be quadratic.
  return BigInt(`0x${node.content.toString('hex')}`);
}

/** Decodes a UTCTime or GeneralizedTime node. */
export function readTime(node: DerNode): Date {
  const s = node.content.toString('ascii');
  const m =
    node.identifier === Tag.UtcTime
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : node.identifier === Tag.GeneralizedTime
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
        : null;
  if (!m) throw new DerError(`bad time ${JSON.stringify(s)}`, 0);
  const [, ys, mo, d, h, mi, se] = m.map(Number) as [number, number, number, number, number, number, number];
  const year = node.identifier === Tag.UtcTime ? (ys < 50 ? 2000 + ys : 1900 + ys) : ys;
  return new Date(Date.UTC(year, mo - 1, d, h, mi, se));
}

/** Decodes a string node of any of the textual types. */
export function readString(node: DerNode): string {
  return node.content.toString(node.identifier === Tag.Utf8String ? 'utf8' : 'latin1');
}
