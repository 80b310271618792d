import { stat } from 'node:fs/promises';
import type { Logger } from '@talos-ts/cosi';
import type { ServiceState } from './events.ts';
import type { HealthCheck } from './health.ts';
import type { ServiceLog } from './log.ts';
import type { Runner } from './runner.ts';

/**
 * When a service runs again after its runner returns (upstream's three policies):
 * - Forever: always, whether the run succeeded or failed;
 * - Once: never; the service ends Finished on success, Failed on error;
 * - UntilSuccess: after failures only; the first success ends it Finished.
 */
export const RestartPolicy = {
  Forever: 'Forever',
  Once: 'Once',
  UntilSuccess: 'UntilSuccess',
} as const;

/** One of the {@link RestartPolicy} names. */
export type RestartPolicy = (typeof RestartPolicy)[keyof typeof RestartPolicy];

/** Upstream's pause between restarts. */
export const defaultRestartIntervalMs = 5000;

/** Something a service waits for before it is prepared, e.g. a file appearing. */
export interface ServiceCondition {
  /** Shown in the Waiting event: `Waiting for <description>`. */
  readonly description: string;
  /** Resolves when satisfied; rejects when the signal aborts. */
  wait(signal: AbortSignal): Promise<void>;
}

/** What a runner factory gets to build the runner with. */
export interface RunnerContext {
  readonly log: ServiceLog;
  readonly logger: Logger;
}

/** A supervised service. Only id and runner are required. */
export interface ServiceDefinition {
  readonly id: string;
  /** Services that must be up (Running and, if they have a health check, healthy) first. */
  readonly dependsOn?: readonly string[];
  readonly condition?: ServiceCondition;
  /** Runs in Preparing, before the runner is built (e.g. write config files). */
  prepare?(signal: AbortSignal): Promise<void>;
  /** Runs after the service ended, with the state it is about to settle in. */
  postStop?(state: ServiceState): Promise<void>;
  /** Builds the runner; undefined means the service is skipped (e.g. not on this node type). */
  runner(ctx: RunnerContext): Runner | undefined;
  /** Forever by default. */
  readonly restart?: RestartPolicy;
  readonly restartIntervalMs?: number;
  readonly healthCheck?: HealthCheck;
}

function abortError(signal: AbortSignal): unknown {
  return signal.reason ?? new Error('aborted');
}

/** A condition satisfied once `path` exists, checked every pollMs (default 100 ms). */
export function fileExists(path: string, options: { readonly pollMs?: number } = {}): ServiceCondition {
  const pollMs = options.pollMs ?? 100;
  return {
    description: `file ${JSON.stringify(path)} to exist`,
    async wait(signal) {
      for (;;) {
        if (signal.aborted) throw abortError(signal);
        try {
          await stat(path);
          return;
        } catch {
          // not there yet
        }
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, pollMs);
          function done(): void {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
          }
          signal.addEventListener('abort', done, { once: true });
        });
      }
    },
  };
}
