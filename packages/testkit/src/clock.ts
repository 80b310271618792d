import { Code, TalosError, type Clock } from '@talos-ts/cosi';

interface Timer {
  readonly at: number;
  readonly seq: number;
  readonly resolve: () => void;
}

/** A clock that moves only when told to: timers fire in order as `advance` passes them. */
export class FakeClock implements Clock {
  #now: number;
  #seq = 0;
  #timers: Timer[] = [];

  constructor(startMs = 1_700_000_000_000) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** Number of sleeps waiting for the clock. */
  get pendingTimers(): number {
    return this.#timers.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new TalosError(Code.Canceled, 'sleep aborted'));
        return;
      }
      const timer: Timer = {
        at: this.#now + Math.max(0, ms),
        seq: this.#seq++,
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        this.#timers = this.#timers.filter((t) => t !== timer);
        reject(new TalosError(Code.Canceled, 'sleep aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#timers.push(timer);
      this.#timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
    });
  }

  /** Moves time forward, firing due timers one by one and letting their continuations run. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#timers[0];
      if (!next || next.at > target) break;
      this.#timers.shift();
      this.#now = next.at;
      next.resolve();
      await settle();
    }
    this.#now = target;
    await settle();
  }

  /** Resolves once some code is sleeping on this clock (bounded by real time). */
  async untilSleeping(count = 1, timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#timers.length < count) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${count} sleeper(s) on the fake clock`);
      await new Promise((r) => setTimeout(r, 1));
    }
  }
}

// Lets promise chains and setImmediate callbacks triggered by a fired timer run to completion.
async function settle(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((r) => setImmediate(r));
}
