import { closeSync, createReadStream, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Code, TalosError } from '@talos-ts/cosi';
import { isGzipLayer } from './media.ts';
import { parseTarHeader, TAR_BLOCK, type TarEntry } from './tar.ts';

/** Options of {@link extractLayer}. */
export interface ExtractOptions {
  /** The layer file (already digest-checked) and its media type (gzip or plain tar). */
  readonly path: string;
  /** The layer's bytes from elsewhere (a content store); `path` then only names it in errors. */
  readonly source?: AsyncIterable<Uint8Array>;
  readonly mediaType: string;
  /** Where each kept file goes: a path relative to `dest`, or undefined to skip the entry. */
  readonly select: (entry: TarEntry) => string | undefined;
  readonly dest: string;
  readonly signal?: AbortSignal;
}

/**
 * Streams a layer and writes the regular files `select` keeps (and nothing else: no links, no
 * devices, nothing outside dest). Returns the relative paths written. A layer that ends inside
 * an entry throws DataLoss.
 */
export async function extractLayer(options: ExtractOptions): Promise<string[]> {
  const src = options.source ? Readable.from(options.source, { objectMode: false }) : createReadStream(options.path);
  let stream: NodeJS.ReadableStream = src;
  if (isGzipLayer(options.mediaType)) {
    const gunzip = createGunzip();
    // pipe() does not pass on a source's error (a content store stream that fails half-way).
    src.once('error', (err: Error) => gunzip.destroy(err));
    stream = src.pipe(gunzip);
  }
  const written: string[] = [];
  let pending = Buffer.alloc(0);
  // In data: bytes of the current entry still to come, the fd they go to (or -1 to skip), and padding.
  let left = 0;
  let pad = 0;
  let fd = -1;
  let ended = false;
  const finishEntry = (): void => {
    if (fd >= 0) closeSync(fd);
    fd = -1;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      options.signal?.throwIfAborted();
      let buf = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      pending = Buffer.alloc(0);
      while (buf.length > 0 && !ended) {
        if (left > 0) {
          const n = Math.min(left, buf.length);
          if (fd >= 0) writeSync(fd, buf, 0, n);
          left -= n;
          buf = buf.subarray(n);
          if (left === 0) finishEntry();
          continue;
        }
        if (pad > 0) {
          const n = Math.min(pad, buf.length);
          pad -= n;
          buf = buf.subarray(n);
          continue;
        }
        if (buf.length < TAR_BLOCK) {
          pending = Buffer.from(buf);
          break;
        }
        const entry = parseTarHeader(buf.subarray(0, TAR_BLOCK));
        buf = buf.subarray(TAR_BLOCK);
        if (!entry) {
          ended = true;
          break;
        }
        left = entry.type === 'file' ? entry.size : 0;
        pad = entry.type === 'file' ? (TAR_BLOCK - (entry.size % TAR_BLOCK)) % TAR_BLOCK : 0;
        const rel = entry.type === 'file' ? options.select(entry) : undefined;
        if (rel !== undefined) {
          const clean = normalize(rel);
          if (clean.startsWith('..') || clean.startsWith('/')) throw new TalosError(Code.InvalidArgument, `layer entry ${entry.name} maps outside the destination`);
          const target = join(options.dest, clean);
          mkdirSync(dirname(target), { recursive: true });
          fd = openSync(target, 'w', 0o644);
          written.push(clean);
          if (left === 0) finishEntry();
        }
      }
      if (ended) break;
    }
  } finally {
    finishEntry();
    src.destroy();
  }
  if (left > 0 || (!ended && pending.length > 0)) throw new TalosError(Code.DataLoss, `${options.path}: layer ends inside an entry`);
  return written;
}
