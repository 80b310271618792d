import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileAtomicOptions {
  /** File mode of the new file (default 0600: everything machined stores is private). */
  readonly mode?: number;
}

/**
 * Replaces `path` with `data` so that a reader, or the next boot after a power cut, sees either the
 * old file or the whole new one, never a mix: the data goes to a temporary file with a unique name
 * in the same directory (concurrent writers never share one), is flushed to the disk, renamed over
 * `path`, and the directory is flushed so the rename itself survives a crash.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, options: WriteFileAtomicOptions = {}): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const file = await open(temp, 'wx', options.mode ?? 0o600);
  try {
    try {
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
  await syncDirectory(dir);
}

/** Flushes a directory's entries (a rename or unlink in it) to the disk. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (err) {
    // Some file systems (and tmpfs under some kernels) refuse fsync on a directory: nothing to flush there.
    if (!['EINVAL', 'ENOTSUP', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await handle.close();
  }
}

/**
 * Makes `dir` a directory (mode 0700), replacing whatever else sits at that path. Only for paths the
 * node owns outright: a stray file where a directory of ours belongs is damage to repair, not data.
 * Returns what it replaced, so the caller can say so once.
 */
export async function ensureOwnedDirectory(dir: string): Promise<'created' | 'existed' | 'replaced'> {
  const found = await lstat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (found?.isDirectory()) return 'existed';
  if (found) await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return found ? 'replaced' : 'created';
}
