// Watching certificate files apart from tls.ts: daemons that never touch grpc-js (apid) need
// this without pulling grpc-js into their bundle.
import { readFileSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { join } from 'node:path';

/** Options of {@link watchFiles}. */
export interface WatchFilesOptions {
  /** Re-read the files this often even without a change notification (renames can slip by). */
  readonly pollMs?: number;
  /** Coalesces the bursts of events a write-then-rename produces. */
  readonly debounceMs?: number;
  /** Called when a read or the callback fails; the previous contents stay current. */
  readonly onError?: (err: unknown) => void;
}

/** Contents of watched files by name; undefined for a file that does not exist (yet). */
export type FileContents = Readonly<Record<string, Buffer | undefined>>;

/** Reads the named files of a directory; missing files are undefined. */
export function readFiles(dir: string, names: readonly string[]): FileContents {
  const out: Record<string, Buffer | undefined> = {};
  for (const n of names) {
    try {
      out[n] = readFileSync(join(dir, n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      out[n] = undefined;
    }
  }
  return out;
}

function sameContents(a: FileContents, b: FileContents): boolean {
  for (const k of Object.keys(b)) {
    const x = a[k];
    const y = b[k];
    if (x === undefined || y === undefined ? x !== y : !x.equals(y)) return false;
  }
  return true;
}

/**
 * Calls `onChange` whenever the contents of any of the named files in `dir` change: on a
 * directory change notification and on a periodic re-read. The current contents are read
 * at once and returned as `initial`; `onChange` is not called for them.
 */
export function watchFiles(
  dir: string,
  names: readonly string[],
  onChange: (contents: FileContents) => void,
  options: WatchFilesOptions = {},
): { readonly initial: FileContents } & Disposable {
  let last = readFiles(dir, names);
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    timer = undefined;
    try {
      const now = readFiles(dir, names);
      if (sameContents(last, now)) return;
      last = now;
      onChange(now);
    } catch (err) {
      options.onError?.(err);
    }
  };
  const soon = (): void => {
    if (timer === undefined) timer = setTimeout(check, options.debounceMs ?? 50);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, soon);
    watcher.on('error', () => {});
  } catch {
    // The poll below still notices changes when the directory cannot be watched.
  }
  const poll = setInterval(check, options.pollMs ?? 3000);
  poll.unref();
  return {
    initial: last,
    [Symbol.dispose]() {
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
    },
  };
}
