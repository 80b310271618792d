import { Code, TalosError } from './errors.ts';
import type { Resource } from './resource.ts';

/** Kinds of watch events, as COSI names them. */
export type EventType = 'created' | 'updated' | 'destroyed' | 'bootstrapped' | 'errored';

/** One watch event. `old` is set on updates; `error` on `errored`, which always ends the watch. */
export interface WatchEvent {
  readonly type: EventType;
  readonly resource?: Resource;
  readonly old?: Resource;
  readonly error?: TalosError;
}

/** Default number of undelivered live events a watcher may hold before it is ended with ERRORED. */
export const defaultWatchBufferSize = 4096;

/**
 * The consumer side of a watch: an async iterator over events. Its buffer is bounded: a consumer
 * that falls further behind than `bufferSize` live events gets one ERRORED event and the watch ends,
 * so a slow reader never blocks writers nor grows memory without bound, and never misses events
 * silently.
 */
export class Watch implements AsyncIterable<WatchEvent>, Disposable {
  #queue: WatchEvent[] = [];
  #head = 0;
  #limit: number;
  #waiter: ((r: IteratorResult<WatchEvent>) => void) | undefined;
  #batchWaiter: ((ready: boolean) => void) | undefined;
  #closed = false;
  #failed = false;
  readonly #onClose: () => void;

  /** @internal Created by a state; consumers only iterate and dispose. */
  constructor(options: { bufferSize: number; onClose: () => void }) {
    this.#limit = options.bufferSize;
    this.#onClose = options.onClose;
  }

  /** @internal Queues the initial snapshot: it does not count against the live buffer. */
  preload(events: readonly WatchEvent[]): void {
    for (const e of events) this.#queue.push(e);
    this.#limit += events.length;
  }

  /** @internal Called by writers, synchronously; never blocks. */
  push(event: WatchEvent): void {
    if (this.#closed || this.#failed) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: event, done: false });
      return;
    }
    if (this.#queue.length - this.#head >= this.#limit) {
      this.fail(new TalosError(Code.ResourceExhausted, `watch buffer overflow: consumer is more than ${this.#limit} events behind`));
      return;
    }
    this.#queue.push(event);
    this.#wakeBatch(true);
  }

  #wakeBatch(ready: boolean): void {
    const b = this.#batchWaiter;
    this.#batchWaiter = undefined;
    b?.(ready);
  }

  /** @internal Ends the watch with an ERRORED event after what is already queued. */
  fail(error: TalosError): void {
    if (this.#closed || this.#failed) return;
    this.#failed = true;
    this.#onClose();
    const ev: WatchEvent = { type: 'errored', error };
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: ev, done: false });
    } else {
      this.#queue.push(ev);
      this.#wakeBatch(true);
    }
  }

  /** Number of events queued and not yet read. */
  get pending(): number {
    return this.#queue.length - this.#head;
  }

  /** Reads the next event; resolves `done` once the watch is closed or has delivered its ERRORED event. */
  next(): Promise<IteratorResult<WatchEvent>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head] as WatchEvent;
      this.#queue[this.#head] = undefined as unknown as WatchEvent;
      this.#head++;
      if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head);
        this.#head = 0;
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.#closed || this.#failed) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /**
   * Reads every queued event at once, waiting for at least one; undefined once the watch is over.
   * One wake-up per burst instead of one per event: the fast path for busy consumers such as API
   * streams. Do not mix with `next()` on the same watch.
   */
  async nextBatch(): Promise<WatchEvent[] | undefined> {
    for (;;) {
      if (this.#head < this.#queue.length) {
        const batch = this.#head === 0 ? this.#queue : this.#queue.slice(this.#head);
        this.#queue = [];
        this.#head = 0;
        return batch;
      }
      if (this.#closed || this.#failed) return undefined;
      const ready = await new Promise<boolean>((resolve) => {
        this.#batchWaiter = resolve;
      });
      if (!ready) return undefined;
    }
  }

  /** Stops the watch; pending reads finish as done. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    if (!this.#failed) this.#onClose();
    this.#queue = [];
    this.#head = 0;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.({ value: undefined, done: true });
    this.#wakeBatch(false);
  }

  [Symbol.asyncIterator](): AsyncIterator<WatchEvent> {
    return {
      next: () => this.next(),
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
