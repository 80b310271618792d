import { native } from './native.ts';

/** The kernel's real-time clock as timed adjusts it (metal only; container mode leaves it alone). */
export interface KernelClock {
  now(): number;
  step(offsetMs: number): void;
  slew(offsetMs: number): void;
}

/**
 * The kernel clock: steps through clock_settime, slews through adjtimex (ADJ_OFFSET_SINGLESHOT).
 * Never used by tests: they must not move the host's clock.
 */
export function kernelClock(): KernelClock {
  return {
    now: () => Date.now(),
    step: (offsetMs) => native().clockStep(String(BigInt(Math.round(offsetMs * 1e6)))),
    slew: (offsetMs) => native().clockSlew(Math.round(offsetMs * 1000)),
  };
}
