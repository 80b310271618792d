import { Code, TalosError, sleepUnlessAborted } from '@talos-ts/cosi';

/** A service's health check; timings default to upstream's (1 s delay, 5 s period, 500 ms timeout). */
export interface HealthCheck {
  /** Resolves when healthy, rejects with the reason otherwise; must honour the signal. */
  check(signal: AbortSignal): Promise<void>;
  readonly initialDelayMs?: number;
  readonly periodMs?: number;
  /** A check that has not settled by then counts as failed, whether or not it honours the signal. */
  readonly timeoutMs?: number;
}

/** Upstream's default health check timings. */
export const defaultHealthSettings = { initialDelayMs: 1000, periodMs: 5000, timeoutMs: 500 } as const;

/** What the API shows about a service's health. */
export interface HealthStatus {
  /** True until the first check result (and always for services without a health check). */
  readonly unknown: boolean;
  readonly healthy: boolean;
  readonly lastMessage: string;
  /** Unix milliseconds of the last healthy/unhealthy flip (or reset to unknown). */
  readonly lastChange: number;
}

/** A health transition, handed to listeners only when healthy/unhealthy/unknown actually changes. */
export interface HealthChange {
  readonly old: HealthStatus;
  readonly new: HealthStatus;
}

/**
 * Holds a service's health. A result that repeats the current verdict only refreshes the message,
 * so listeners (event history, resources) see flips, not every probe.
 */
export class HealthTracker {
  #status: HealthStatus;
  readonly #listeners = new Set<(change: HealthChange) => void>();

  constructor(private readonly now: () => number = Date.now) {
    this.#status = { unknown: true, healthy: false, lastMessage: 'Unknown', lastChange: now() };
  }

  /** The current status. */
  get status(): HealthStatus {
    return this.#status;
  }

  /** Back to unknown, as at the start of each run. */
  reset(): void {
    const old = this.#status;
    this.#status = { unknown: true, healthy: false, lastMessage: 'Unknown', lastChange: this.now() };
    if (!old.unknown) this.#emit({ old, new: this.#status });
  }

  /** Records one verdict. */
  update(healthy: boolean, message: string): void {
    const old = this.#status;
    const flipped = old.unknown || old.healthy !== healthy;
    this.#status = { unknown: false, healthy, lastMessage: message, lastChange: flipped ? this.now() : old.lastChange };
    if (flipped) this.#emit({ old, new: this.#status });
  }

  /** Calls fn on each change; returns the unsubscribe function. */
  subscribe(fn: (change: HealthChange) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #emit(change: HealthChange): void {
    for (const l of this.#listeners) l(change);
  }
}

function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one check bounded by timeoutMs; resolves to an error message, or undefined when healthy. */
export async function probeOnce(check: HealthCheck, signal: AbortSignal): Promise<string | undefined> {
  const timeoutMs = check.timeoutMs ?? defaultHealthSettings.timeoutMs;
  const ac = new AbortController();
  const onAbort = (): void => ac.abort(signal.reason);
  signal.addEventListener('abort', onAbort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      ac.abort(new TalosError(Code.DeadlineExceeded, 'health check timed out'));
      resolve(`health check timed out after ${timeoutMs}ms`);
    }, timeoutMs);
  });
  try {
    // A check may ignore its signal and never settle: the race stops waiting for it at the timeout.
    const attempt = Promise.resolve()
      .then(() => check.check(ac.signal))
      .then(
        () => undefined,
        (err: unknown) => errorMessage(err),
      );
    return await Promise.race([attempt, timedOut]);
  } finally {
    clearTimeout(timer);
    signal.removeEventListener('abort', onAbort);
    ac.abort();
  }
}


/**
 * Probes after initialDelayMs, then every periodMs (measured from the start of each probe, like a
 * ticker), feeding verdicts to the tracker until the signal aborts.
 */
export async function runHealthChecks(check: HealthCheck, tracker: HealthTracker, signal: AbortSignal): Promise<void> {
  const periodMs = check.periodMs ?? defaultHealthSettings.periodMs;
  if (!(await sleepUnlessAborted(check.initialDelayMs ?? defaultHealthSettings.initialDelayMs, signal))) return;
  for (;;) {
    const started = Date.now();
    const failure = await probeOnce(check, signal);
    if (signal.aborted) return;
    tracker.update(failure === undefined, failure ?? '');
    if (!(await sleepUnlessAborted(Math.max(0, periodMs - (Date.now() - started)), signal))) return;
  }
}
