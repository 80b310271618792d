// The availability probe: `talosctl version` (Version over mTLS as os:reader) in a loop against
// the attacked node, recording each latency; a failed or timed-out call counts at its bound.
import type { FuzzNode } from '../host/fuzz-node.ts';
import type { FuzzReport } from './report.ts';

/** A running probe; stop it to get the number of failed calls. */
export interface Probe {
  stop(): Promise<{ calls: number; failures: number }>;
}

/** Options of {@link startProbe}. */
export interface ProbeOptions {
  /** Pause between calls (default 100 ms). */
  readonly intervalMs?: number;
  /** Bound of one call (default 5 s). */
  readonly timeoutMs?: number;
  /** Latency series name in the report (default "version"). */
  readonly name?: string;
}

/** Starts calling Version on the node until stopped. */
export function startProbe(node: FuzzNode, report: FuzzReport, options: ProbeOptions = {}): Probe {
  const interval = options.intervalMs ?? 100;
  const timeout = options.timeoutMs ?? 5000;
  const name = options.name ?? 'version';
  let stopped = false;
  let calls = 0;
  let failures = 0;
  const loop = (async () => {
    while (!stopped) {
      calls++;
      const t0 = performance.now();
      try {
        report.latency(name, await node.probe(timeout));
      } catch {
        failures++;
        report.latency(name, Math.max(performance.now() - t0, timeout));
      }
      if (!stopped) await new Promise((r) => setTimeout(r, interval));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { calls, failures };
    },
  };
}
