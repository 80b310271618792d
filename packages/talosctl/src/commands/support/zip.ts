// A minimal zip writer (deflate, no zip64, no encryption). Written on Node's zlib rather than taken
// from a library: the format's three record kinds are a few dozen lines, zlib does the compression
// and CRC-32, and the CLI keeps no dependency for it.

import { crc32, deflateRawSync } from 'node:zlib';

interface Entry {
  readonly name: Buffer;
  readonly crc: number;
  readonly size: number;
  readonly compressedSize: number;
  readonly offset: number;
  readonly dosTime: number;
  readonly dosDate: number;
}

/** The largest archive or member this writer produces (no zip64 records). */
const MAX_ZIP32 = 0xffffffff;

/** Builds a zip archive in memory: add files, then `finish()` returns the bytes. */
export class ZipWriter {
  readonly #chunks: Buffer[] = [];
  readonly #entries: Entry[] = [];
  #offset = 0;

  /** Adds one file (a `/`-separated path) with its contents. */
  add(path: string, data: Uint8Array, mtime = new Date()): void {
    const name = Buffer.from(path.replace(/^\/+/, ''), 'utf8');
    const compressed = deflateRawSync(data);
    if (data.length > MAX_ZIP32 || this.#offset + compressed.length > MAX_ZIP32) throw new Error(`zip: ${path}: archive larger than 4 GiB is not supported`);
    const dosTime = (mtime.getHours() << 11) | (mtime.getMinutes() << 5) | Math.floor(mtime.getSeconds() / 2);
    const dosDate = ((Math.max(1980, mtime.getFullYear()) - 1980) << 9) | ((mtime.getMonth() + 1) << 5) | mtime.getDate();
    const entry: Entry = { name, crc: crc32(data) >>> 0, size: data.length, compressedSize: compressed.length, offset: this.#offset, dosTime, dosDate };
    const header = Buffer.alloc(30);
    header.writeUInt32LE(0x04034b50, 0); // local file header
    header.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    header.writeUInt16LE(0x0800, 6); // names are UTF-8
    header.writeUInt16LE(8, 8); // deflate
    header.writeUInt16LE(dosTime, 10);
    header.writeUInt16LE(dosDate, 12);
    header.writeUInt32LE(entry.crc, 14);
    header.writeUInt32LE(entry.compressedSize, 18);
    header.writeUInt32LE(entry.size, 22);
    header.writeUInt16LE(name.length, 26);
    header.writeUInt16LE(0, 28);
    this.#chunks.push(header, name, compressed);
    this.#offset += header.length + name.length + compressed.length;
    this.#entries.push(entry);
  }

  /** The whole archive: the files, then the central directory and its end record. */
  finish(): Buffer {
    const start = this.#offset;
    const central: Buffer[] = [];
    for (const e of this.#entries) {
      const h = Buffer.alloc(46);
      h.writeUInt32LE(0x02014b50, 0); // central directory header
      h.writeUInt16LE((3 << 8) | 20, 4); // made by: unix, 2.0
      h.writeUInt16LE(20, 6);
      h.writeUInt16LE(0x0800, 8);
      h.writeUInt16LE(8, 10);
      h.writeUInt16LE(e.dosTime, 12);
      h.writeUInt16LE(e.dosDate, 14);
      h.writeUInt32LE(e.crc, 16);
      h.writeUInt32LE(e.compressedSize, 20);
      h.writeUInt32LE(e.size, 24);
      h.writeUInt16LE(e.name.length, 28);
      h.writeUInt32LE((0o100644 << 16) >>> 0, 38); // unix mode of a regular file
      h.writeUInt32LE(e.offset, 42);
      central.push(h, e.name);
    }
    const size = central.reduce((n, b) => n + b.length, 0);
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(this.#entries.length, 8);
    end.writeUInt16LE(this.#entries.length, 10);
    end.writeUInt32LE(size, 12);
    end.writeUInt32LE(start, 16);
    return Buffer.concat([...this.#chunks, ...central, end]);
  }
}
