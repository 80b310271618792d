import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';

/** Default bound of one service's in-memory log. */
export const defaultLogSizeBytes = 1024 * 1024;

/** Options of {@link ServiceLog}. */
export interface ServiceLogOptions {
  /** In-memory bound; the oldest lines are dropped beyond it. */
  readonly sizeBytes?: number;
  /** When set, every line is appended to `<logDir>/<id>.log` as well. */
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
 * optionally mirrored to a file so logs survive the ring.
 */
export class ServiceLog implements AsyncDisposable {
  readonly sizeBytes: number;
  #lines: string[] = [];
  #head = 0;
  #bytes = 0;
  readonly #followers = new Set<Follower>();
  readonly #file: WriteStream | undefined;

  constructor(
    readonly id: string,
    options: ServiceLogOptions = {},
  ) {
    this.sizeBytes = options.sizeBytes ?? defaultLogSizeBytes;
    if (options.logDir !== undefined) {
      mkdirSync(options.logDir, { recursive: true });
      this.#file = createWriteStream(join(options.logDir, `${id}.log`), { flags: 'a' });
      // A full disk must not take the supervisor down; the in-memory ring still has the lines.
      this.#file.on('error', () => {});
    }
  }

  /** Appends one line (without its newline). A line larger than the whole bound is truncated. */
  append(line: string): void {
    let text = line;
    if (Buffer.byteLength(text) + 1 > this.sizeBytes) text = Buffer.from(text).subarray(0, Math.max(0, this.sizeBytes - 1)).toString();
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
    this.#file?.write(text + '\n');
    for (const f of this.#followers) {
      f.queue.push(text);
      f.wake?.();
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

  /** Flushes and closes the mirror file. */
  async [Symbol.asyncDispose](): Promise<void> {
    const file = this.#file;
    if (!file || file.closed) return;
    await new Promise<void>((resolve) => file.end(resolve));
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
