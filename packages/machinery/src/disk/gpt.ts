import { randomUUID } from 'node:crypto';
import { crc32 } from './crc32.ts';

/** Logical sector size the layout is computed for (virtio and most disks). */
export const SECTOR_BYTES = 512;
/** Entries in a GPT partition array (the UEFI minimum, 16 KiB: LBA 2..33). */
export const GPT_ENTRY_COUNT = 128;
const ENTRY_BYTES = 128;
const HEADER_BYTES = 92;
const ENTRY_SECTORS = (GPT_ENTRY_COUNT * ENTRY_BYTES) / SECTOR_BYTES;
/** Sectors at the start of a disk taken by the protective MBR, the GPT header and its entries. */
export const GPT_PRIMARY_SECTORS = 2 + ENTRY_SECTORS;
/** Sectors at the end of a disk taken by the backup entries and header. */
export const GPT_BACKUP_SECTORS = 1 + ENTRY_SECTORS;
/** Bit 2 of the GPT attributes: BIOS firmware may boot from this partition (set on upstream's BIOS partition). */
export const LEGACY_BIOS_BOOTABLE = 1n << 2n;

/** One GPT entry. LBAs are inclusive, as in the on-disk format. */
export interface GptPartition {
  readonly name: string;
  /** Partition type GUID, upper case text form. */
  readonly typeGuid: string;
  /** Unique partition GUID, upper case text form. */
  readonly guid: string;
  readonly firstLba: number;
  readonly lastLba: number;
  readonly attributes: bigint;
}

/** A whole-disk GPT: its GUID, its size and its partitions in table order. */
export interface GptLayout {
  readonly diskGuid: string;
  readonly totalSectors: number;
  readonly partitions: readonly GptPartition[];
}

/** The bytes to write: `primary` at offset 0 (MBR, header, entries), `backup` at `backupOffsetBytes`. */
export interface EncodedGpt {
  readonly primary: Uint8Array;
  readonly backup: Uint8Array;
  readonly backupOffsetBytes: number;
}

/** A new random GUID in upper case text form. */
export function newGuid(): string {
  return randomUUID().toUpperCase();
}

/** GUID text → the 16 bytes GPT stores (first three fields little-endian, the rest as written). */
export function guidToBytes(guid: string): Uint8Array {
  const hex = guid.replaceAll('-', '');
  if (!/^[0-9a-fA-F]{32}$/.test(hex)) throw new RangeError(`not a GUID: ${guid}`);
  const raw = Buffer.from(hex, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(raw.readUInt32BE(0), 0);
  out.writeUInt16LE(raw.readUInt16BE(4), 4);
  out.writeUInt16LE(raw.readUInt16BE(6), 6);
  raw.copy(out, 8, 8, 16);
  return out;
}

/** The 16 GPT bytes of a GUID → upper case text form. */
export function guidFromBytes(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, 16);
  const h = (n: number, w: number): string => n.toString(16).padStart(w, '0');
  const tail = b.subarray(8, 16).toString('hex');
  return `${h(b.readUInt32LE(0), 8)}-${h(b.readUInt16LE(4), 4)}-${h(b.readUInt16LE(6), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`.toUpperCase();
}

function protectiveMbr(totalSectors: number): Buffer {
  const mbr = Buffer.alloc(SECTOR_BYTES);
  const e = 446;
  // CHS fields are meaningless for a protective entry; the conventional values are start 0/0/2, end "max".
  mbr.set([0x00, 0x00, 0x02, 0x00, 0xee, 0xff, 0xff, 0xff], e);
  mbr.writeUInt32LE(1, e + 8);
  mbr.writeUInt32LE(Math.min(totalSectors - 1, 0xffffffff), e + 12);
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

function encodeEntries(partitions: readonly GptPartition[]): Buffer {
  const buf = Buffer.alloc(GPT_ENTRY_COUNT * ENTRY_BYTES);
  partitions.forEach((p, i) => {
    const o = i * ENTRY_BYTES;
    buf.set(guidToBytes(p.typeGuid), o);
    buf.set(guidToBytes(p.guid), o + 16);
    buf.writeBigUInt64LE(BigInt(p.firstLba), o + 32);
    buf.writeBigUInt64LE(BigInt(p.lastLba), o + 40);
    buf.writeBigUInt64LE(p.attributes, o + 48);
    buf.write(p.name, o + 56, 72, 'utf16le');
  });
  return buf;
}

function encodeHeader(layout: GptLayout, entriesCrc: number, backup: boolean): Buffer {
  const h = Buffer.alloc(SECTOR_BYTES);
  const last = layout.totalSectors - 1;
  h.write('EFI PART', 0, 'latin1');
  h.writeUInt32LE(0x00010000, 8);
  h.writeUInt32LE(HEADER_BYTES, 12);
  h.writeBigUInt64LE(BigInt(backup ? last : 1), 24);
  h.writeBigUInt64LE(BigInt(backup ? 1 : last), 32);
  h.writeBigUInt64LE(BigInt(GPT_PRIMARY_SECTORS), 40);
  h.writeBigUInt64LE(BigInt(layout.totalSectors - GPT_BACKUP_SECTORS - 1), 48);
  h.set(guidToBytes(layout.diskGuid), 56);
  h.writeBigUInt64LE(BigInt(backup ? layout.totalSectors - GPT_BACKUP_SECTORS : 2), 72);
  h.writeUInt32LE(GPT_ENTRY_COUNT, 80);
  h.writeUInt32LE(ENTRY_BYTES, 84);
  h.writeUInt32LE(entriesCrc, 88);
  h.writeUInt32LE(crc32(h.subarray(0, HEADER_BYTES)), 16);
  return h;
}

/** Problems with a layout (overlaps, out of the usable range, too many entries); empty when it is sound. */
export function checkLayout(layout: GptLayout): string[] {
  const errs: string[] = [];
  const firstUsable = GPT_PRIMARY_SECTORS;
  const lastUsable = layout.totalSectors - GPT_BACKUP_SECTORS - 1;
  if (layout.partitions.length > GPT_ENTRY_COUNT) errs.push(`${layout.partitions.length} partitions: at most ${GPT_ENTRY_COUNT}`);
  const sorted = [...layout.partitions].sort((a, b) => a.firstLba - b.firstLba);
  sorted.forEach((p, i) => {
    if (p.firstLba < firstUsable || p.lastLba > lastUsable || p.lastLba < p.firstLba) {
      errs.push(`${p.name}: LBA ${p.firstLba}..${p.lastLba} outside ${firstUsable}..${lastUsable}`);
    }
    const next = sorted[i + 1];
    if (next && next.firstLba <= p.lastLba) errs.push(`${p.name} overlaps ${next.name}`);
    if (Buffer.byteLength(p.name, 'utf16le') > 72) errs.push(`${p.name}: name longer than 36 UTF-16 units`);
  });
  return errs;
}

/** Encodes a layout: protective MBR, primary header and entries, and the backup entries and header. */
export function encodeGpt(layout: GptLayout): EncodedGpt {
  const errs = checkLayout(layout);
  if (errs.length > 0) throw new RangeError(`invalid GPT layout: ${errs.join('; ')}`);
  const entries = encodeEntries(layout.partitions);
  const entriesCrc = crc32(entries);
  const primary = Buffer.concat([protectiveMbr(layout.totalSectors), encodeHeader(layout, entriesCrc, false), entries]);
  const backup = Buffer.concat([entries, encodeHeader(layout, entriesCrc, true)]);
  return { primary, backup, backupOffsetBytes: (layout.totalSectors - GPT_BACKUP_SECTORS) * SECTOR_BYTES };
}

/**
 * Decodes the primary GPT from the first {@link GPT_PRIMARY_SECTORS} sectors of a disk. Checks the
 * signature and both CRCs; `totalSectors` is taken from the header's backup LBA.
 */
export function decodeGpt(primary: Uint8Array): { value: GptLayout } | { error: string } {
  if (primary.length < GPT_PRIMARY_SECTORS * SECTOR_BYTES) return { error: `need ${GPT_PRIMARY_SECTORS} sectors, got ${primary.length} bytes` };
  const buf = Buffer.from(primary.buffer, primary.byteOffset, primary.length);
  const h = buf.subarray(SECTOR_BYTES, 2 * SECTOR_BYTES);
  if (h.toString('latin1', 0, 8) !== 'EFI PART') return { error: 'no GPT signature at LBA 1' };
  const headerBytes = h.readUInt32LE(12);
  if (headerBytes < HEADER_BYTES || headerBytes > SECTOR_BYTES) return { error: `bad GPT header size ${headerBytes}` };
  const copy = Buffer.from(h.subarray(0, headerBytes));
  copy.writeUInt32LE(0, 16);
  if (crc32(copy) !== h.readUInt32LE(16)) return { error: 'GPT header CRC mismatch' };
  const entriesLba = Number(h.readBigUInt64LE(72));
  const count = h.readUInt32LE(80);
  const size = h.readUInt32LE(84);
  const start = entriesLba * SECTOR_BYTES;
  if (size < ENTRY_BYTES || start + count * size > buf.length) return { error: 'GPT entries outside the bytes read' };
  const entries = buf.subarray(start, start + count * size);
  if (crc32(entries) !== h.readUInt32LE(88)) return { error: 'GPT entries CRC mismatch' };
  const partitions: GptPartition[] = [];
  for (let i = 0; i < count; i++) {
    const e = entries.subarray(i * size, i * size + size);
    if (e.subarray(0, 16).every((b) => b === 0)) continue;
    const name = e.toString('utf16le', 56, 128).replace(/\0.*$/s, '');
    partitions.push({
      name,
      typeGuid: guidFromBytes(e.subarray(0, 16)),
      guid: guidFromBytes(e.subarray(16, 32)),
      firstLba: Number(e.readBigUInt64LE(32)),
      lastLba: Number(e.readBigUInt64LE(40)),
      attributes: e.readBigUInt64LE(48),
    });
  }
  return { value: { diskGuid: guidFromBytes(h.subarray(56, 72)), totalSectors: Number(h.readBigUInt64LE(32)) + 1, partitions } };
}
