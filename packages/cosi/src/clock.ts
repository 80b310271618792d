import { Code, TalosError } from './errors.ts';

/** Time as the runtime sees it; tests swap in a fake clock. */
export interface Clock {
  now(): number;
  /** Resolves after ms; rejects with a Canceled TalosError when the signal aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve, reject) => {
      if (signal?.aborted) {
        reject(new TalosError(Code.Canceled, 'sleep aborted'));
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new TalosError(Code.Canceled, 'sleep aborted'));
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    }),
};

/**
 * Waits ms unless the signal aborts first; resolves true when the time passed, false when
 * aborted. For loops that must stop quietly on abort rather than unwind with an error.
 */
export function sleepUnlessAborted(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = (): void => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
