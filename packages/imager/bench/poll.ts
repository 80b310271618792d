// Timing the first answer of a booting VM's API. QEMU's user-mode network accepts a forwarded
// connection before anything in the guest listens, so one attempt can hang until its timeout;
// attempts are therefore started on a fixed beat and overlap, and the first to succeed gives the
// time. The figure is then within one beat of the real moment.

/** Options of {@link firstSuccess}. */
export interface FirstSuccessOptions {
  /** A new attempt starts this often. */
  readonly beatMs: number;
  /** Each attempt is abandoned after this long. */
  readonly attemptTimeoutMs: number;
  /** Give up (throw) after this long. */
  readonly totalTimeoutMs: number;
  /** Called each beat; a returned string aborts the wait with that reason (e.g. QEMU exited). */
  readonly check?: () => string | undefined;
}

/** Resolves with Date.now() at the first attempt that succeeds. */
export async function firstSuccess(attempt: (signal: AbortSignal) => Promise<void>, options: FirstSuccessOptions): Promise<number> {
  const stop = new AbortController();
  const deadline = Date.now() + options.totalTimeoutMs;
  let done: number | undefined;
  try {
    while (done === undefined) {
      const problem = options.check?.();
      if (problem !== undefined) throw new Error(problem);
      if (Date.now() > deadline) throw new Error(`no answer within ${options.totalTimeoutMs} ms`);
      const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(options.attemptTimeoutMs)]);
      attempt(signal).then(
        () => {
          done ??= Date.now();
        },
        () => {},
      );
      await new Promise((r) => setTimeout(r, options.beatMs));
    }
    return done;
  } finally {
    stop.abort();
  }
}
