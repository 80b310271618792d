import { Code, TalosError } from '@talos-ts/cosi';

/** One machine event, as the Events API streams it (payload is a typed protobuf message). */
export interface MachineEvent<P = unknown> {
  /** Increasing, sortable id (upstream uses xid; ours is time-based plus a counter). */
  readonly id: string;
  readonly timestamp: number;
  /** Fully qualified protobuf type of the payload, e.g. `machine.ServiceStateEvent`. */
  readonly type: string;
  readonly payload: P;
}

/** Options of a subscription: replay some history first. */
export interface SubscribeOptions {
  readonly signal: AbortSignal;
  /** Replay the last N events (−1: all kept). */
  readonly tailEvents?: number;
  /** Replay events newer than this id. */
  readonly tailId?: string;
  /** Replay events of the last N seconds. */
  readonly tailSeconds?: number;
}

/**
 * The machine's event feed: a bounded history (for `talosctl events --tail`) and live fan-out.
 * Slow subscribers get an error instead of unbounded buffering.
 */
export class EventBus {
  readonly #history: MachineEvent[] = [];
  readonly #capacity: number;
  readonly #subscribers = new Set<(e: MachineEvent) => void>();
  readonly #now: () => number;
  #seq = 0;

  constructor(options: { capacity?: number; now?: () => number } = {}) {
    this.#capacity = options.capacity ?? 1000;
    this.#now = options.now ?? Date.now;
  }

  /** Publishes an event to the history and every live subscriber. */
  publish<P>(type: string, payload: P): MachineEvent<P> {
    const timestamp = this.#now();
    const event: MachineEvent<P> = {
      id: `${timestamp.toString(36).padStart(9, '0')}${(this.#seq++ % 1_679_616).toString(36).padStart(4, '0')}`,
      timestamp,
      type,
      payload,
    };
    this.#history.push(event);
    if (this.#history.length > this.#capacity) this.#history.shift();
    for (const s of this.#subscribers) s(event);
    return event;
  }

  /** Replayed history (per options), then live events until the signal aborts. */
  async *subscribe(options: SubscribeOptions): AsyncIterable<MachineEvent> {
    const queue: MachineEvent[] = [];
    let wake: (() => void) | undefined;
    let overflow = false;
    const limit = 10_000;
    const listener = (e: MachineEvent): void => {
      if (queue.length >= limit) overflow = true;
      else queue.push(e);
      wake?.();
    };
    this.#subscribers.add(listener);
    const onAbort = (): void => wake?.();
    options.signal.addEventListener('abort', onAbort, { once: true });
    try {
      for (const e of this.#replay(options)) yield e;
      while (!options.signal.aborted) {
        if (overflow) throw new TalosError(Code.ResourceExhausted, 'event subscriber fell too far behind');
        const e = queue.shift();
        if (e) {
          yield e;
          continue;
        }
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
      }
    } finally {
      this.#subscribers.delete(listener);
      options.signal.removeEventListener('abort', onAbort);
    }
  }

  #replay(options: SubscribeOptions): MachineEvent[] {
    const h = this.#history;
    if (options.tailId) {
      const i = h.findIndex((e) => e.id === options.tailId);
      return i < 0 ? [...h] : h.slice(i + 1);
    }
    if (options.tailSeconds && options.tailSeconds > 0) {
      const since = this.#now() - options.tailSeconds * 1000;
      return h.filter((e) => e.timestamp >= since);
    }
    const n = options.tailEvents ?? 0;
    if (n < 0) return [...h];
    return n === 0 ? [] : h.slice(-n);
  }
}
