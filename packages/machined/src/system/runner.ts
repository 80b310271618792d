import type { ServiceState } from './events.ts';

/** What a runner may tell the supervisor while it runs. */
export interface RunContext {
  /** The service started (the process spawned, the task began); moves the service to Running. */
  started(message: string): void;
  /** Records an intermediate event (e.g. Stopping "Sending SIGKILL"). */
  event(state: ServiceState, message: string): void;
  /** Appends one line of service output to the service's log. */
  log(line: string): void;
}

/** How one run ended. A run ended by the stop signal counts as ok. */
export interface RunOutcome {
  readonly ok: boolean;
  /** False when the run failed before the service ever started (e.g. the binary is missing). */
  readonly started: boolean;
  /** Human-readable reason: "exit code 3", "signal SIGKILL", an error message. */
  readonly message: string;
  readonly exitCode?: number;
  readonly signal?: string;
}

/**
 * Runs a service to completion; may be run again after it returns (restarts reuse it). Aborting
 * the signal asks for a graceful stop and `run` resolves once the service has stopped.
 */
export interface Runner extends AsyncDisposable {
  /** Shown in events, e.g. `Process(["/usr/bin/etcd" ...])`. */
  readonly description: string;
  run(signal: AbortSignal, ctx: RunContext): Promise<RunOutcome>;
}

/** A service implemented in this process: an async function that returns when told to stop. */
export type TaskFunction = (signal: AbortSignal, ctx: { log(line: string): void }) => Promise<void>;

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs an in-process task (machined's own goroutine-style services). */
export class TaskRunner implements Runner {
  readonly description: string;
  readonly #active = new Set<{ ac: AbortController; done: Promise<unknown> }>();

  constructor(
    readonly name: string,
    private readonly fn: TaskFunction,
  ) {
    this.description = `Task(${JSON.stringify(name)})`;
  }

  async run(signal: AbortSignal, ctx: RunContext): Promise<RunOutcome> {
    const ac = new AbortController();
    const onAbort = (): void => ac.abort(signal.reason);
    if (signal.aborted) return { ok: true, started: false, message: 'stopped before start' };
    signal.addEventListener('abort', onAbort, { once: true });
    ctx.started(`Started task ${this.name}`);
    const done = Promise.resolve().then(() => this.fn(ac.signal, { log: (l) => ctx.log(l) }));
    const entry = { ac, done: done.catch(() => {}) };
    this.#active.add(entry);
    try {
      await done;
      return { ok: true, started: true, message: signal.aborted ? 'stopped' : 'task returned' };
    } catch (err) {
      if (signal.aborted) return { ok: true, started: true, message: 'stopped' };
      return { ok: false, started: true, message: messageOf(err) };
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.#active.delete(entry);
    }
  }

  /** Aborts any task still running and waits for it. */
  async [Symbol.asyncDispose](): Promise<void> {
    const active = [...this.#active];
    for (const a of active) a.ac.abort();
    await Promise.all(active.map((a) => a.done));
  }
}

/** Options of {@link ProcessSpec}: what to run and how to stop it. */
export interface ProcessSpec {
  /** argv[0] is the program (a path, or a name looked up on PATH). */
  readonly argv: readonly string[];
  /** Added to (or, with `inheritEnv: false`, replacing) the supervisor's environment. */
  readonly env?: Readonly<Record<string, string>>;
  readonly inheritEnv?: boolean;
  readonly cwd?: string;
  readonly uid?: number;
  readonly gid?: number;
  /** Time between SIGTERM and SIGKILL on stop (upstream: 10 s). */
  readonly gracePeriodMs?: number;
}

/** Upstream's graceful shutdown timeout before SIGKILL. */
export const defaultGracePeriodMs = 10_000;
