import { createHash } from 'node:crypto';
import { Code, TalosError } from '@talos-ts/cosi';

// The on-disk format of upstream's META partition (the "talos" ADV of siderolabs/go-adv): one copy
// is a 256 KiB block, big-endian throughout:
//
//   0            magic1 (u32)
//   4            records: tag (u32), size (u32), value (size bytes); tag 0 ends the list
//   len - 36     sha256 of the whole block computed with these 32 bytes zeroed
//   len - 4      magic2 (u32)
//
// The block is written twice, back to back, so a torn write of one copy leaves the other. Tags
// are one byte (syslinux compatibility) although the record has room for 32 bits.

/** Bytes of one copy. */
export const ADV_COPY_BYTES = 256 * 1024;
/** Bytes of both copies, as written at the start of the META partition. */
export const ADV_BYTES = 2 * ADV_COPY_BYTES;
/** Room for records in one copy (the block less both magics and the checksum). */
export const ADV_DATA_BYTES = ADV_COPY_BYTES - 40;

const MAGIC1 = 0x5a4b3c2d;
const MAGIC2 = 0xa5b4c3d2;
const END_TAG = 0;
const RECORD_HEADER_BYTES = 8;

/** Which copy a decode read its values from; `none` when neither was valid (a blank partition). */
export type AdvSource = 'first' | 'second' | 'none';

/** What {@link decodeAdv} found. */
export interface DecodedAdv {
  readonly values: MetaValues;
  readonly source: AdvSource;
  /** Why the copies that were not used were rejected (empty when the first copy was good). */
  readonly rejected: readonly string[];
}

/**
 * The key/values of META: tags 0..255 (0 is the end marker and cannot be stored) with byte
 * values, limited to what fits one copy.
 */
export class MetaValues {
  readonly #tags = new Map<number, Uint8Array>();

  /** Tags present, ascending. */
  tags(): number[] {
    return [...this.#tags.keys()].sort((a, b) => a - b);
  }

  /** The value of a tag, or undefined. */
  get(tag: number): Uint8Array | undefined {
    return this.#tags.get(tag);
  }

  /** The value of a tag as UTF-8 text, or undefined. */
  getText(tag: number): string | undefined {
    const v = this.#tags.get(tag);
    return v === undefined ? undefined : Buffer.from(v).toString('utf8');
  }

  /** Bytes the records take in one copy. */
  usedBytes(): number {
    let n = 0;
    for (const v of this.#tags.values()) n += RECORD_HEADER_BYTES + v.length;
    return n;
  }

  /**
   * Sets a tag; false (nothing changed) when the values would no longer fit one copy, as
   * upstream's META answers an overflow. Throws InvalidArgument for a tag that is not 1..255.
   */
  set(tag: number, value: Uint8Array | string): boolean {
    checkTag(tag);
    const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : Uint8Array.from(value);
    const old = this.#tags.get(tag);
    const size = this.usedBytes() - (old ? RECORD_HEADER_BYTES + old.length : 0) + RECORD_HEADER_BYTES + bytes.length;
    if (size > ADV_DATA_BYTES) return false;
    this.#tags.set(tag, bytes);
    return true;
  }

  /** Deletes a tag; false when it was not there. */
  delete(tag: number): boolean {
    return this.#tags.delete(tag);
  }

  /** A copy of these values. */
  clone(): MetaValues {
    const c = new MetaValues();
    for (const [t, v] of this.#tags) c.#tags.set(t, v);
    return c;
  }
}

function checkTag(tag: number): void {
  if (!Number.isInteger(tag) || tag < 1 || tag > 255) throw new TalosError(Code.InvalidArgument, `meta: key must be 1..255, got ${tag}`);
}

function checksum(block: Uint8Array): Buffer {
  const zeroed = Buffer.from(block);
  zeroed.fill(0, block.length - 36, block.length - 4);
  return createHash('sha256').update(zeroed).digest();
}

/** One copy of `values` (ADV_COPY_BYTES). */
export function encodeAdvCopy(values: MetaValues): Uint8Array {
  const buf = Buffer.alloc(ADV_COPY_BYTES);
  buf.writeUInt32BE(MAGIC1, 0);
  buf.writeUInt32BE(MAGIC2, ADV_COPY_BYTES - 4);
  let at = 4;
  for (const tag of values.tags()) {
    const v = values.get(tag) ?? new Uint8Array();
    // set() keeps the total within one copy; this guards a MetaValues changed behind its back.
    if (at + RECORD_HEADER_BYTES + v.length > ADV_COPY_BYTES - 36) throw new TalosError(Code.ResourceExhausted, 'meta: values do not fit the META partition');
    buf.writeUInt32BE(tag, at);
    buf.writeUInt32BE(v.length, at + 4);
    buf.set(v, at + RECORD_HEADER_BYTES);
    at += RECORD_HEADER_BYTES + v.length;
  }
  checksum(buf).copy(buf, ADV_COPY_BYTES - 36);
  return buf;
}

/** Both copies of `values` (ADV_BYTES), as written at offset 0 of the META partition. */
export function encodeAdv(values: MetaValues): Uint8Array {
  const one = encodeAdvCopy(values);
  const out = new Uint8Array(ADV_BYTES);
  out.set(one, 0);
  out.set(one, ADV_COPY_BYTES);
  return out;
}

/** Reads one copy: its values, or why it is not a valid copy. */
export function decodeAdvCopy(block: Uint8Array): { value: MetaValues } | { error: string } {
  if (block.length !== ADV_COPY_BYTES) return { error: `length ${block.length}, expected ${ADV_COPY_BYTES}` };
  const buf = Buffer.from(block.buffer, block.byteOffset, block.length);
  const m1 = buf.readUInt32BE(0);
  if (m1 !== MAGIC1) return { error: `bad magic1 ${m1.toString(16)}` };
  const m2 = buf.readUInt32BE(ADV_COPY_BYTES - 4);
  if (m2 !== MAGIC2) return { error: `bad magic2 ${m2.toString(16)}` };
  if (!checksum(buf).equals(buf.subarray(ADV_COPY_BYTES - 36, ADV_COPY_BYTES - 4))) return { error: 'checksum mismatch' };
  const values = new MetaValues();
  const end = ADV_COPY_BYTES - 36;
  let at = 4;
  while (end - at >= RECORD_HEADER_BYTES) {
    const tag = buf.readUInt32BE(at);
    if (tag === END_TAG) break;
    const size = buf.readUInt32BE(at + 4);
    if (at + RECORD_HEADER_BYTES + size > end) return { error: `tag ${tag}: value of ${size} bytes runs past the end` };
    // Only byte tags are meaningful (upstream truncates to uint8); keep what fits one.
    if (tag <= 255) values.set(tag, buf.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + size));
    at += RECORD_HEADER_BYTES + size;
  }
  return { value: values };
}

/**
 * Reads META from the start of its partition: the first copy when valid, else the second; when
 * neither is (a partition never written), empty values with source `none`.
 */
export function decodeAdv(data: Uint8Array): DecodedAdv {
  const rejected: string[] = [];
  for (const [source, offset] of [['first', 0], ['second', ADV_COPY_BYTES]] as const) {
    if (data.length < offset + ADV_COPY_BYTES) {
      rejected.push(`${source} copy: partition too short (${data.length} bytes)`);
      continue;
    }
    const r = decodeAdvCopy(data.subarray(offset, offset + ADV_COPY_BYTES));
    if ('value' in r) return { values: r.value, source, rejected };
    rejected.push(`${source} copy: ${r.error}`);
  }
  return { values: new MetaValues(), source: 'none', rejected };
}
