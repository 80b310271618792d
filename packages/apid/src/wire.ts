/**
 * Just enough of the protobuf wire format to merge replies without knowing their types: every
 * Talos reply is `repeated X messages = 1` and every X carries `common.Metadata metadata = 1`.
 * Protobuf merges an embedded message that occurs twice, so appending a second field 1 to an X
 * sets fields of its metadata without decoding the rest.
 */

/** Protobuf wire types. */
export const WireType = { varint: 0, fixed64: 1, len: 2, fixed32: 5 } as const;

/** Encodes a non-negative integer (below 2^53) as a base-128 varint. */
export function encodeVarint(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`varint out of range: ${value}`);
  const out: number[] = [];
  let v = value;
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80);
    v = Math.floor(v / 0x80);
  }
  out.push(v);
  return Buffer.from(out);
}

/** Decodes a varint at `offset`; returns the value and the offset after it. */
export function decodeVarint(buf: Uint8Array, offset: number): { value: number; next: number } {
  let value = 0;
  let scale = 1;
  for (let i = offset; i < buf.length && i < offset + 10; i++) {
    const b = buf[i] as number;
    value += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) {
      if (!Number.isSafeInteger(value)) throw new RangeError('varint too large');
      return { value, next: i + 1 };
    }
    scale *= 0x80;
  }
  throw new RangeError(`truncated varint at offset ${offset}`);
}

/** The key of a field: number and wire type. */
export function encodeTag(field: number, wireType: number): Buffer {
  return encodeVarint(field * 8 + wireType);
}

/** A length-delimited field (bytes, string or embedded message). */
export function encodeLenField(field: number, value: Uint8Array | string): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  return Buffer.concat([encodeTag(field, WireType.len), encodeVarint(bytes.length), bytes]);
}

/** One top-level field of an encoded message. */
export interface WireField {
  readonly field: number;
  readonly wireType: number;
  /** The payload: for `len` fields the bytes inside, otherwise the raw value bytes. */
  readonly value: Buffer;
}

/** Splits an encoded message into its top-level fields; throws RangeError on malformed input. */
export function readFields(buf: Buffer): WireField[] {
  const out: WireField[] = [];
  let i = 0;
  while (i < buf.length) {
    const key = decodeVarint(buf, i);
    const field = Math.floor(key.value / 8);
    const wireType = key.value % 8;
    if (field === 0) throw new RangeError(`field number 0 at offset ${i}`);
    let start = key.next;
    let end: number;
    switch (wireType) {
      case WireType.varint:
        end = decodeVarint(buf, start).next;
        break;
      case WireType.fixed64:
        end = start + 8;
        break;
      case WireType.fixed32:
        end = start + 4;
        break;
      case WireType.len: {
        const len = decodeVarint(buf, start);
        start = len.next;
        end = start + len.value;
        break;
      }
      default:
        throw new RangeError(`unsupported wire type ${wireType} at offset ${i}`);
    }
    if (end > buf.length) throw new RangeError(`field ${field} runs past the end of the message`);
    out.push({ field, wireType, value: buf.subarray(start, end) });
    i = end;
  }
  return out;
}

/** The payloads of every occurrence of length-delimited field `field` (a repeated message field). */
export function repeatedMessages(buf: Buffer, field = 1): Buffer[] {
  return readFields(buf)
    .filter((f) => f.field === field && f.wireType === WireType.len)
    .map((f) => f.value);
}

/** Encodes `items` as occurrences of a repeated message field. */
export function joinRepeated(items: readonly Uint8Array[], field = 1): Buffer {
  return Buffer.concat(items.map((m) => encodeLenField(field, m)));
}

/** The bytes of a `common.Metadata` with hostname (1) and, when given, error (2). */
export function encodeMetadata(meta: { readonly hostname: string; readonly error?: string }): Buffer {
  const parts = [encodeLenField(1, meta.hostname)];
  if (meta.error !== undefined) parts.push(encodeLenField(2, meta.error));
  return Buffer.concat(parts);
}

/** The message with `metadata.hostname` set (merged in by appending a second field 1). */
export function withHostname(message: Uint8Array, hostname: string): Buffer {
  return Buffer.concat([message, encodeLenField(1, encodeMetadata({ hostname }))]);
}

/** A message holding only `metadata { hostname, error }`: how a failed node shows in a merged reply. */
export function errorMessage(hostname: string, error: string): Buffer {
  return encodeLenField(1, encodeMetadata({ hostname, error }));
}
