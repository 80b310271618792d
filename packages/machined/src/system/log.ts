import { appendFileSync, closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Default bound of one service's log: 1 MiB, upstream's cap for each service's in-memory circular
 * buffer. With a log directory the same figure caps each of the two files on disk.
 */
export const defaultLogSizeBytes = 1024 * 1024;

/** Options of {@link ServiceLog}. */
export interface ServiceLogOptions {
  /** In-memory bound, and the cap of each file on disk; the oldest lines are dropped beyond it. */
  readonly sizeBytes?: number;
  /**
   * When set, lines are kept on disk too, in `<logDir>/<id>.log` and the previous generation
   * `<logDir>/<id>.log.1`, each at most `sizeBytes` (so at most twice `sizeBytes` per service).
   * The newest `sizeBytes` found there are loaded at construction, so the tail survives a restart.
   */
  readonly logDir?: string;
}

/** Options of {@link ServiceLog.follow}. */
export interface FollowOptions {
  /** Lines of history to yield first (0 by default: only new lines). */
  readonly tailLines?: number;
}

interface Follower {
  readonly queue: string[];
  wake: (() => void) | undefined;
}

/**
 * One service's output: a line ring bounded in bytes, readable as a tail or followed live, and
 * optionally kept on disk in two size-capped files so the newest lines survive a restart.
 */
export class ServiceLog implements AsyncDisposable {
  readonly sizeBytes: number;
  #lines: string[] = [];
  #head = 0;
  #bytes = 0;
  readonly #followers = new Set<Follower>();
  readonly #file: RotatingFile | undefined;

  constructor(
    readonly id: string,
    options: ServiceLogOptions = {},
  ) {
    this.sizeBytes = options.sizeBytes ?? defaultLogSizeBytes;
    if (options.logDir !== undefined) {
      mkdirSync(options.logDir, { recursive: true });
      this.#file = new RotatingFile(join(options.logDir, `${id}.log`), this.sizeBytes);
      for (const line of this.#file.history()) this.#hold(line);
    }
  }

  /** Appends one line (without its newline). A line larger than the whole bound is truncated. */
  append(line: string): void {
    let text = line;
    if (Buffer.byteLength(text) + 1 > this.sizeBytes) text = Buffer.from(text).subarray(0, Math.max(0, this.sizeBytes - 1)).toString();
    this.#hold(text);
    this.#file?.write(text);
    for (const f of this.#followers) {
      f.queue.push(text);
      f.wake?.();
    }
  }

  #hold(text: string): void {
    this.#lines.push(text);
    this.#bytes += Buffer.byteLength(text) + 1;
    while (this.#bytes > this.sizeBytes && this.#head < this.#lines.length) {
      this.#bytes -= Buffer.byteLength(this.#lines[this.#head] ?? '') + 1;
      this.#lines[this.#head] = '';
      this.#head++;
    }
    // Compact lazily so dropping the oldest line stays O(1) amortised.
    if (this.#head > 1024 && this.#head * 2 > this.#lines.length) {
      this.#lines = this.#lines.slice(this.#head);
      this.#head = 0;
    }
  }

  /** Bytes held in memory (each line counted with its newline). */
  get bytes(): number {
    return this.#bytes;
  }

  /** The last n lines (all held lines when n is omitted), oldest first. */
  tail(n?: number): string[] {
    const held = this.#lines.length - this.#head;
    const count = n === undefined ? held : Math.max(0, Math.min(n, held));
    return this.#lines.slice(this.#lines.length - count);
  }

  /** Yields the requested history, then each new line until the signal aborts. */
  async *follow(signal: AbortSignal, options: FollowOptions = {}): AsyncGenerator<string> {
    const f: Follower = { queue: this.tail(options.tailLines ?? 0), wake: undefined };
    this.#followers.add(f);
    const onAbort = (): void => f.wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const line = f.queue.shift();
        if (line !== undefined) {
          yield line;
          continue;
        }
        await new Promise<void>((resolve) => (f.wake = resolve));
        f.wake = undefined;
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#followers.delete(f);
    }
  }

  /** Writes out what is pending and closes the file. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.#file?.close();
  }
}

/**
 * A log file capped in size: `<path>` takes new lines until the next one would pass the cap, then
 * it becomes `<path>.1` (replacing the older generation) and a fresh `<path>` starts. Disk use is
 * thus at most twice the cap, and the newest cap's worth of lines is always there whole.
 *
 * Hand-written rather than a rotation library: we need exactly this two-generation scheme, the
 * tail read back at start, and no timers, which is a few dozen lines on `fs`.
 */
class RotatingFile {
  readonly #path: string;
  readonly #capBytes: number;
  /** Bytes in the current `<path>` as far as writes have completed. */
  #size = 0;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #handle: FileHandle | undefined;
  #draining: Promise<void> | undefined;
  #closed = false;

  constructor(path: string, capBytes: number) {
    this.#path = path;
    this.#capBytes = capBytes;
    // Files left by an older, unbounded build (or a smaller cap) are cut to their newest lines.
    // A line cut short by a crash gets its newline, so the next line written is not glued to it.
    for (const p of [`${path}.1`, path]) {
      try {
        if (statSync(p).size > capBytes) {
          writeFileSync(`${p}.tmp`, newestLines(p, capBytes));
          renameSync(`${p}.tmp`, p);
        } else if (!endsWithNewline(p)) appendFileSync(p, '\n');
      } catch {
        // Missing or unreadable: nothing to bound.
      }
    }
    try {
      this.#size = statSync(path).size;
    } catch {
      this.#size = 0;
    }
  }

  /** The newest lines on disk, oldest first, at most the cap in bytes. */
  history(): string[] {
    const text = [`${this.#path}.1`, this.#path]
      .filter((p) => existsSync(p))
      .map((p) => newestLines(p, this.#capBytes))
      .join('');
    const lines = text.split('\n');
    lines.pop(); // what follows the last newline: empty, or a line cut short by a crash
    // Keep only what fits the cap, newest first.
    let bytes = 0;
    let from = lines.length;
    while (from > 0 && bytes + Buffer.byteLength(lines[from - 1] ?? '') + 1 <= this.#capBytes) {
      bytes += Buffer.byteLength(lines[from - 1] ?? '') + 1;
      from--;
    }
    return lines.slice(from);
  }

  /** Queues one line; written in order, in the background. */
  write(line: string): void {
    if (this.#closed) return;
    const b = Buffer.from(line + '\n');
    this.#pending.push(b);
    this.#pendingBytes += b.length;
    // A disk slower than the service: of more than two caps queued only the newest two caps could
    // end up on disk, so the oldest queued lines go and memory stays bounded too. Trimming only
    // past three caps keeps it amortised O(1) per line.
    if (this.#pendingBytes > 3 * this.#capBytes) {
      let drop = 0;
      while (this.#pendingBytes > 2 * this.#capBytes && drop < this.#pending.length - 1) this.#pendingBytes -= this.#pending[drop++]?.length ?? 0;
      this.#pending.splice(0, drop);
    }
    this.#kick();
  }

  #kick(): void {
    if (this.#draining !== undefined || this.#pending.length === 0) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0) {
      const batch = this.#pending;
      this.#pending = [];
      this.#pendingBytes = 0;
      try {
        await this.#writeBatch(batch);
      } catch {
        // A full or failing disk must not take the supervisor down; the in-memory ring still has
        // the lines. Reopen on the next write.
        await this.#handle?.close().catch(() => {});
        this.#handle = undefined;
      }
    }
  }

  async #writeBatch(batch: readonly Buffer[]): Promise<void> {
    let group: Buffer[] = [];
    let groupBytes = 0;
    const flush = async (): Promise<void> => {
      if (groupBytes === 0) return;
      this.#handle ??= await open(this.#path, 'a');
      await this.#handle.write(Buffer.concat(group, groupBytes));
      this.#size += groupBytes;
      group = [];
      groupBytes = 0;
    };
    for (const b of batch) {
      if (this.#size + groupBytes + b.length > this.#capBytes && this.#size + groupBytes > 0) {
        await flush();
        await this.#rotate();
      }
      group.push(b);
      groupBytes += b.length;
    }
    await flush();
  }

  async #rotate(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
    await rename(this.#path, `${this.#path}.1`).catch(() => {});
    this.#handle = await open(this.#path, 'w');
    this.#size = 0;
  }

  /** Waits for queued lines to be written, then closes the file. */
  async close(): Promise<void> {
    this.#closed = true;
    while (this.#draining) await this.#draining;
    await this.#handle?.close().catch(() => {});
    this.#handle = undefined;
  }
}

/** The last `maxBytes` of a file, starting after a newline so no line is cut at the front. */
function newestLines(path: string, maxBytes: number): string {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - maxBytes);
    const buf = Buffer.alloc(size - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n === 0) break;
      got += n;
    }
    let text = buf.subarray(0, got);
    if (start > 0) {
      const nl = text.indexOf(0x0a);
      text = nl < 0 ? Buffer.alloc(0) : text.subarray(nl + 1);
    }
    // Whole lines only: a trailing piece without its newline is left out.
    const last = text.lastIndexOf(0x0a);
    return text.subarray(0, last + 1).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function endsWithNewline(path: string): boolean {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, size - 1);
    return b[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** Splits a byte stream into lines, keeping a partial line until its newline arrives. */
export class LineSplitter {
  #partial = '';
  readonly #decoder = new TextDecoder();

  constructor(private readonly onLine: (line: string) => void) {}

  /** Feeds a chunk. */
  write(chunk: Uint8Array | string): void {
    const text = this.#partial + (typeof chunk === 'string' ? chunk : this.#decoder.decode(chunk, { stream: true }));
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const p of parts) this.onLine(p.endsWith('\r') ? p.slice(0, -1) : p);
  }

  /** Emits what is left as a last line. */
  end(): void {
    const rest = this.#partial + this.#decoder.decode();
    this.#partial = '';
    if (rest !== '') this.onLine(rest);
  }
}
