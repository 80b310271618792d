/**
 * The parts of the gRPC-over-HTTP/2 protocol both ends share: message framing (1-byte flag,
 * 4-byte big-endian length, payload), metadata as HTTP/2 headers, grpc-timeout and the
 * percent-encoding of grpc-message.
 */
import { Code, TalosError } from '@talos-ts/cosi';

/** One metadata value: text for ordinary keys, bytes for keys ending in `-bin`. */
export type MetadataValue = string | Buffer;

/** Call metadata (headers or trailers): lower-case key → values in arrival order. */
export type GrpcMetadata = Map<string, MetadataValue[]>;

/** The method shapes gRPC knows, named as protobuf-es names them. */
export type MethodKind = 'unary' | 'server_streaming' | 'client_streaming' | 'bidi_streaming';

/** gRPC's OK status (Code starts at 1, it has no OK member). */
export const STATUS_OK = 0;

/** Default cap on one message in either direction (4 MiB, as grpc-js). */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** Builds metadata from a plain record (one value or a list per key). */
export function metadataOf(values: Readonly<Record<string, MetadataValue | readonly MetadataValue[]>> = {}): GrpcMetadata {
  const out: GrpcMetadata = new Map();
  for (const [k, v] of Object.entries(values)) out.set(k.toLowerCase(), Array.isArray(v) ? [...(v as MetadataValue[])] : [v as MetadataValue]);
  return out;
}

/** The text values of a key (a `-bin` value is read as UTF-8). */
export function metadataStrings(md: GrpcMetadata, key: string): string[] {
  const vs = md.get(key);
  if (vs === undefined) return [];
  return vs.map((v) => (typeof v === 'string' ? v : v.toString('utf8')));
}

// Headers owned by HTTP/2 or by the gRPC transport itself: never surfaced as metadata and
// never taken from user metadata when sending.
const reserved = new Set(['content-type', 'te', 'grpc-timeout', 'grpc-encoding', 'grpc-accept-encoding', 'grpc-status', 'grpc-message', 'grpc-status-details-bin', 'user-agent', 'host', 'content-length', 'date']);

/** Whether a header is transport-owned (pseudo headers, content-type, grpc-* status and timeout). */
export function isReservedHeader(key: string): boolean {
  return key.charCodeAt(0) === 58 /* ':' */ || reserved.has(key);
}

function addValue(md: GrpcMetadata, key: string, value: string): void {
  const v: MetadataValue = key.endsWith('-bin') ? Buffer.from(value, 'base64') : value;
  const list = md.get(key);
  if (list === undefined) md.set(key, [v]);
  else list.push(v);
}

/**
 * Metadata from node:http2's flat raw header list (`[name, value, name, value, ...]`), which
 * keeps repeated keys apart (the headers object joins them with ", ").
 */
export function metadataFromRawHeaders(raw: readonly string[], keep: (key: string) => boolean = (k) => !isReservedHeader(k)): GrpcMetadata {
  const md: GrpcMetadata = new Map();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const key = raw[i] as string;
    if (!keep(key)) continue;
    addValue(md, key, raw[i + 1] as string);
  }
  return md;
}

/** Metadata from a node:http2 headers object (used where no raw list is available). */
export function metadataFromHeaders(headers: Readonly<Record<string, string | string[] | number | undefined>>, keep: (key: string) => boolean = (k) => !isReservedHeader(k)): GrpcMetadata {
  const md: GrpcMetadata = new Map();
  for (const key of Object.keys(headers)) {
    if (!keep(key)) continue;
    const v = headers[key];
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) addValue(md, key, one);
    // The headers object joins repeats with ", "; binary values never contain a comma.
    else if (key.endsWith('-bin')) for (const one of String(v).split(',')) addValue(md, key, one.trim());
    else addValue(md, key, String(v));
  }
  return md;
}

/** Writes metadata into an outgoing node:http2 headers object (repeats as arrays, bytes base64). */
export function putMetadata(headers: Record<string, string | string[] | number>, md: GrpcMetadata | undefined): void {
  if (md === undefined) return;
  for (const [key, values] of md) {
    if (values.length === 0 || isReservedHeader(key)) continue;
    const bin = key.endsWith('-bin');
    if (values.length === 1) {
      const v = values[0] as MetadataValue;
      headers[key] = bin ? Buffer.from(v).toString('base64') : String(v);
    } else {
      headers[key] = values.map((v) => (bin ? Buffer.from(v).toString('base64') : String(v)));
    }
  }
}

/** Encodes a timeout for the grpc-timeout header (at most 8 digits, so the unit grows). */
export function encodeTimeout(timeoutMs: number): string {
  const ms = Math.max(0, Math.ceil(timeoutMs));
  if (ms < 1e8) return `${ms}m`;
  const s = Math.ceil(ms / 1000);
  if (s < 1e8) return `${s}S`;
  return `${Math.min(99_999_999, Math.ceil(s / 3600))}H`;
}

const timeoutUnitsMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1000, m: 1, u: 1e-3, n: 1e-6 };

/** Parses a grpc-timeout value into milliseconds; undefined when malformed. */
export function parseTimeout(value: string): number | undefined {
  const m = /^(\d{1,8})([HMSmun])$/.exec(value);
  if (m === null) return undefined;
  return Number(m[1]) * (timeoutUnitsMs[m[2] as string] as number);
}

/**
 * Longest encoded grpc-message sent, in characters. The status travels in a HEADERS frame, and
 * peers cap a header list (64 KiB by default in Node, less behind proxies): a status carrying a
 * client's 100 KB value would fail as a protocol error and the client would never see it.
 */
export const MAX_GRPC_MESSAGE_CHARS = 8 * 1024;

function percentEncode(text: string): string {
  let out = '';
  for (const byte of Buffer.from(text, 'utf8')) {
    out += byte >= 0x20 && byte <= 0x7e && byte !== 0x25 ? String.fromCharCode(byte) : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Percent-encodes a grpc-message: printable ASCII except '%' stays, everything else as UTF-8 %XX.
 * A message that would encode longer than {@link MAX_GRPC_MESSAGE_CHARS} is cut at a character
 * boundary and ends with `…(<n> bytes)`, n being the whole message's UTF-8 size.
 */
export function encodeGrpcMessage(message: string): string {
  let plain = message.length <= MAX_GRPC_MESSAGE_CHARS;
  for (let i = 0; plain && i < message.length; i++) {
    const c = message.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === 0x25) plain = false;
  }
  if (plain) return message;
  // An encoded character is at most 12 characters (4 bytes as %XX), so this prefix always suffices.
  const head = message.slice(0, MAX_GRPC_MESSAGE_CHARS + 1);
  const full = percentEncode(head);
  if (head.length === message.length && full.length <= MAX_GRPC_MESSAGE_CHARS) return full;
  const marker = percentEncode(`…(${Buffer.byteLength(message, 'utf8')} bytes)`);
  let out = '';
  for (const ch of head) {
    const enc = percentEncode(ch);
    if (out.length + enc.length + marker.length > MAX_GRPC_MESSAGE_CHARS) break;
    out += enc;
  }
  return out + marker;
}

/** Decodes a percent-encoded grpc-message; a malformed escape is kept as it is. */
export function decodeGrpcMessage(value: string): string {
  if (!value.includes('%')) return value;
  const bytes: number[] = [];
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x25 && i + 2 < value.length && /^[0-9a-fA-F]{2}$/.test(value.slice(i + 1, i + 3))) {
      bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(value[i] as string, 'utf8')) bytes.push(b);
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Frames one message: flag 0 (uncompressed), 4-byte length, payload. */
export function frameMessage(message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.length);
  out[0] = 0;
  out.writeUInt32BE(message.length, 1);
  out.set(message, 5);
  return out;
}

/**
 * Splits an incoming byte stream into gRPC messages. Rejects compressed messages (we announce
 * no encodings) and messages over the size cap as soon as their 5-byte header is in, before
 * any of their payload is kept.
 *
 * Linear in the bytes fed: chunks of an incomplete message are only kept in a list, and a
 * message is copied once, when its last byte arrives (not at all when it sits inside one
 * chunk). Re-joining everything pending on every chunk would make a large message split into
 * small DATA frames cost time quadratic in its size.
 */
export class MessageReader {
  // Chunks of the message being assembled (its header already consumed), in order.
  #chunks: Buffer[] = [];
  #chunkBytes = 0;
  // Payload length of the message being assembled; -1 while its header is incomplete.
  #need = -1;
  // A header split across chunks (at most 4 bytes kept between pushes).
  #head: Buffer | undefined;
  readonly #maxBytes: number;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  /** Feeds a chunk; calls `onMessage` for every complete message. Throws a TalosError on a bad frame. */
  push(chunk: Buffer, onMessage: (message: Buffer) => void): void {
    let buf = chunk;
    let off = 0;
    for (;;) {
      if (this.#need < 0) {
        if (this.#head !== undefined) {
          // Complete a split header: at most 5 bytes are copied.
          const take = Math.min(5 - this.#head.length, buf.length - off);
          const head = Buffer.concat([this.#head, buf.subarray(off, off + take)]);
          off += take;
          if (head.length < 5) {
            this.#head = head;
            return;
          }
          this.#head = undefined;
          this.#need = this.#readHeader(head, 0);
        } else {
          if (buf.length - off < 5) {
            if (off < buf.length) this.#head = Buffer.from(buf.subarray(off));
            return;
          }
          this.#need = this.#readHeader(buf, off);
          off += 5;
        }
      }
      const need = this.#need;
      const have = buf.length - off;
      if (this.#chunkBytes === 0 && have >= need) {
        // The whole payload is inside this chunk: hand out a view, no copy.
        this.#need = -1;
        onMessage(buf.subarray(off, off + need));
        off += need;
        continue;
      }
      const missing = need - this.#chunkBytes;
      if (have < missing) {
        if (have > 0) {
          this.#chunks.push(buf.subarray(off));
          this.#chunkBytes += have;
        }
        return;
      }
      this.#chunks.push(buf.subarray(off, off + missing));
      off += missing;
      const message = Buffer.concat(this.#chunks, need);
      this.#chunks = [];
      this.#chunkBytes = 0;
      this.#need = -1;
      onMessage(message);
      if (off === buf.length) return;
      buf = buf.subarray(off);
      off = 0;
    }
  }

  /** Checks a message header and returns its payload length. */
  #readHeader(buf: Buffer, off: number): number {
    const flag = buf[off] as number;
    if (flag !== 0) {
      throw new TalosError(flag === 1 ? Code.Unimplemented : Code.Internal, flag === 1 ? 'compressed messages are not supported' : `bad message flag ${flag}`);
    }
    const len = buf.readUInt32BE(off + 1);
    if (len > this.#maxBytes) throw new TalosError(Code.ResourceExhausted, `message of ${len} bytes is over the limit of ${this.#maxBytes}`);
    return len;
  }

  /** Whether a partial message is buffered (an error when the stream ends). */
  get partial(): boolean {
    return this.#need >= 0 || this.#head !== undefined;
  }
}
