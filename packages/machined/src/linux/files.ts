import { createReadStream, type Stats } from 'node:fs';
import { lstat, opendir, readlink, realpath, stat } from 'node:fs/promises';
import { basename, join, posix, relative } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { Code, TalosError } from '@talos-ts/cosi';
import { pack as tarPack, type Pack } from 'tar-stream';

/** Chunk size of file reads streamed to clients (upstream's chunker uses 4 KiB reads; bigger chunks cost fewer messages). */
const CHUNK_BYTES = 64 * 1024;

/** Makes an API path absolute and clean, as upstream's List does (`proc` → `/proc`, `/var/` → `/var`). */
export function cleanNodePath(path: string): string {
  return posix.normalize(path.startsWith('/') ? path : `/${path}`).replace(/(.)\/+$/, '$1');
}

function fsError(path: string, err: unknown): TalosError {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT' || e.code === 'ENOTDIR') return new TalosError(Code.NotFound, `${path}: no such file or directory`, { cause: err });
  if (e.code === 'EACCES' || e.code === 'EPERM') return new TalosError(Code.PermissionDenied, `${path}: permission denied`, { cause: err });
  return TalosError.from(err);
}

/**
 * Opens a file for the Read API. As upstream, only regular files are served (a directory, device,
 * socket or FIFO is refused: reading a device or FIFO could block or never end); /proc and /sys
 * files count as regular although they report size 0, and are read to their end.
 */
export async function openRegularFile(path: string): Promise<Readable> {
  const clean = cleanNodePath(path);
  let st: Stats;
  try {
    st = await stat(clean);
  } catch (err) {
    throw fsError(clean, err);
  }
  if (!st.isFile()) throw new TalosError(Code.InvalidArgument, `${clean}: path must be a regular file (it is a ${kindOf(st)})`);
  return createReadStream(clean, { highWaterMark: CHUNK_BYTES });
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isBlockDevice()) return 'block device';
  if (st.isCharacterDevice()) return 'character device';
  if (st.isFIFO()) return 'FIFO';
  if (st.isSocket()) return 'socket';
  return 'special file';
}

/** Entry types the List API can filter on (upstream's ListRequest.Type). */
export type WalkType = 'regular' | 'directory' | 'symlink';

/**
 * Whether an entry listed a moment ago is gone (a process leaving /proc, a file deleted under the
 * walk): it is left out, as if the listing had been taken a moment later, rather than reported.
 */
function vanished(err: unknown): boolean {
  return (err as NodeJS.ErrnoException).code === 'ENOENT';
}

/** One entry of a walk: its stat, or the error that kept it from being read. */
export interface WalkItem {
  readonly fullPath: string;
  /** Relative to the walk root; `.` for the root itself, the base name when the root is a file. */
  readonly relPath: string;
  readonly stats?: Stats;
  /** Symlink target. */
  readonly link?: string;
  readonly error?: string;
}

/** Options of {@link walk}. */
export interface WalkOptions {
  /** Directories deeper than this are listed but not entered (the root always is); negative: no limit. */
  readonly maxDepth: number;
  /** Only entries of these types (the rest are still descended into); empty: all. */
  readonly types?: readonly WalkType[];
  readonly signal?: AbortSignal;
}

function matches(st: Stats, types: readonly WalkType[] | undefined): boolean {
  if (!types || types.length === 0) return true;
  return types.some((t) => (t === 'regular' ? st.isFile() : t === 'directory' ? st.isDirectory() : st.isSymbolicLink()));
}

function message(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(e.message ?? err);
}

/**
 * Walks a tree without following symlinks (except a symlinked root, as upstream), depth first in
 * name order. Entries that cannot be read (gone, permission) become items with `error` and the walk
 * goes on; it holds one directory handle per level, so a huge tree streams in bounded memory, and it
 * stops as soon as `signal` aborts. Throws NotFound when the root itself does not exist.
 */
export async function* walk(root: string, options: WalkOptions): AsyncGenerator<WalkItem> {
  let start = cleanNodePath(root);
  let rootStats: Stats;
  try {
    rootStats = await lstat(start);
    if (rootStats.isSymbolicLink()) {
      start = await realpath(start);
      rootStats = await lstat(start);
    }
  } catch (err) {
    throw fsError(start, err);
  }
  const visit = async function* (path: string, st: Stats, depth: number): AsyncGenerator<WalkItem> {
    options.signal?.throwIfAborted();
    const relPath = path === start ? (st.isDirectory() ? '.' : basename(path)) : relative(start, path);
    if (matches(st, options.types)) {
      let link: string | undefined;
      let error: string | undefined;
      if (st.isSymbolicLink()) {
        try {
          link = await readlink(path);
        } catch (err) {
          error = message(err);
        }
      }
      yield error !== undefined ? { fullPath: path, relPath, error } : { fullPath: path, relPath, stats: st, ...(link !== undefined ? { link } : {}) };
    }
    if (!st.isDirectory()) return;
    if (path !== start && options.maxDepth >= 0 && depth >= options.maxDepth) return;
    let dir;
    try {
      dir = await opendir(path, { bufferSize: 64 });
    } catch (err) {
      yield { fullPath: path, relPath, error: message(err) };
      return;
    }
    // Names are sorted per directory as upstream's walk does; a directory's names are held, not its subtree.
    const names: string[] = [];
    try {
      for await (const d of dir) names.push(d.name);
    } catch (err) {
      yield { fullPath: path, relPath, error: message(err) };
    }
    names.sort();
    for (const name of names) {
      const child = join(path, name);
      let cst: Stats;
      try {
        cst = await lstat(child);
      } catch (err) {
        if (!vanished(err)) yield { fullPath: child, relPath: relative(start, child), error: message(err) };
        continue;
      }
      yield* visit(child, cst, depth + 1);
    }
  };
  yield* visit(start, rootStats, 0);
}

/** One entry of a disk usage walk: a directory's size includes everything below it. */
export interface UsageItem {
  readonly fullPath: string;
  readonly relPath: string;
  readonly sizeBytes: bigint;
  readonly isDir: boolean;
  /** Depth below the walked path (the path itself is 0). */
  readonly depth: number;
  readonly error?: string;
}

/**
 * Sizes under a path, children before their directory (a directory's size is known only after its
 * subtree). /proc/kcore counts as 0 as upstream does: its size is the address space, not data.
 */
export async function* diskUsage(root: string, signal?: AbortSignal): AsyncGenerator<UsageItem> {
  const start = cleanNodePath(root);
  let rootStats: Stats;
  try {
    rootStats = await stat(start);
  } catch (err) {
    throw fsError(start, err);
  }
  const sizeOf = (path: string, st: Stats): bigint => (path === '/proc/kcore' ? 0n : BigInt(Math.max(st.size, 0)));
  const visit = async function* (path: string, st: Stats, depth: number): AsyncGenerator<UsageItem, bigint> {
    signal?.throwIfAborted();
    const relPath = path === start ? (st.isDirectory() ? '.' : basename(path)) : relative(start, path);
    let total = sizeOf(path, st);
    if (st.isDirectory()) {
      const names: string[] = [];
      try {
        for await (const d of await opendir(path, { bufferSize: 64 })) names.push(d.name);
      } catch (err) {
        yield { fullPath: path, relPath, sizeBytes: 0n, isDir: true, depth, error: message(err) };
      }
      names.sort();
      for (const name of names) {
        const child = join(path, name);
        let cst: Stats;
        try {
          cst = await lstat(child);
        } catch (err) {
          if (vanished(err)) continue;
          yield { fullPath: child, relPath: relative(start, child), sizeBytes: 0n, isDir: false, depth: depth + 1, error: message(err) };
          continue;
        }
        total += yield* visit(child, cst, depth + 1);
      }
    }
    yield { fullPath: path, relPath, sizeBytes: total, isDir: st.isDirectory(), depth };
    return total;
  };
  yield* visit(start, rootStats, 0);
}

/**
 * A gzip-compressed tar of a file or directory, as upstream's Copy sends it, produced as the
 * consumer reads: one file is open at a time, so memory stays bounded for any tree. Entries that
 * cannot be read are skipped (their error is reported through `onSkip`). Files that report size 0
 * (procfs, sysfs) are read in full first, up to 1 MiB, since a tar header needs the size up front.
 */
export function tarGz(root: string, options: { signal?: AbortSignal; onSkip?: (path: string, error: string) => void } = {}): Readable {
  const path = cleanNodePath(root);
  if (!path.startsWith('/')) throw new TalosError(Code.InvalidArgument, `path is not absolute ${root}`);
  const archive = tarPack();
  const gz = createGzip();
  const out = new PassThrough();
  archive.pipe(gz).pipe(out);
  const fail = (err: unknown): void => {
    out.destroy(err instanceof Error ? err : new Error(String(err)));
  };
  void (async () => {
    try {
      for await (const item of walk(path, { maxDepth: -1, ...(options.signal ? { signal: options.signal } : {}) })) {
        if (item.error !== undefined || !item.stats) {
          options.onSkip?.(item.fullPath, item.error ?? 'unreadable');
          continue;
        }
        if (item.relPath === '.') continue;
        try {
          await addEntry(archive, item);
        } catch (err) {
          options.onSkip?.(item.fullPath, message(err));
        }
      }
      archive.finalize();
    } catch (err) {
      fail(TalosError.from(err));
    }
  })();
  return out;
}

const SMALL_FILE_LIMIT = 1024 * 1024;

async function addEntry(archive: Pack, item: WalkItem): Promise<void> {
  const st = item.stats as Stats;
  const common = { name: item.relPath, mode: st.mode & 0o7777, uid: st.uid, gid: st.gid, mtime: st.mtime };
  if (st.isDirectory()) return entry(archive, { ...common, type: 'directory' });
  if (st.isSymbolicLink()) return entry(archive, { ...common, type: 'symlink', linkname: item.link ?? '' });
  if (!st.isFile()) return; // devices, sockets and FIFOs carry no data worth copying
  if (st.size === 0) {
    const data = await readSmall(item.fullPath);
    return entry(archive, { ...common, type: 'file', size: data.length }, data);
  }
  const sink = archive.entry({ ...common, type: 'file', size: st.size });
  let written = 0;
  for await (const chunk of createReadStream(item.fullPath, { highWaterMark: CHUNK_BYTES, end: st.size - 1 }) as AsyncIterable<Buffer>) {
    written += chunk.length;
    if (!sink.write(chunk)) await new Promise<void>((r) => sink.once('drain', () => r()));
  }
  // A file that shrank while it was read is padded, so the archive stays well-formed.
  if (written < st.size) sink.write(Buffer.alloc(st.size - written));
  await new Promise<void>((resolve, reject) => {
    sink.once('error', reject);
    sink.end(() => resolve());
  });
}

function entry(archive: Pack, header: Parameters<Pack['entry']>[0], data?: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    archive.entry(header, data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve()));
  });
}

async function readSmall(path: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: CHUNK_BYTES }) as AsyncIterable<Buffer>) {
    total += chunk.length;
    if (total > SMALL_FILE_LIMIT) throw new Error(`more than ${SMALL_FILE_LIMIT} bytes in a file reporting size 0`);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
