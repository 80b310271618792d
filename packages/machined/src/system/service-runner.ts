import { sleepUnlessAborted } from '@talos-ts/cosi';
import type { Logger } from '@talos-ts/cosi';
import { EventRing, ServiceState, terminalStates, type ServiceEvent } from './events.ts';
import { HealthTracker, runHealthChecks, type HealthStatus } from './health.ts';
import type { ServiceLog } from './log.ts';
import type { RunContext, RunOutcome, Runner } from './runner.ts';
import { RestartPolicy, defaultRestartIntervalMs, type ServiceDefinition } from './service.ts';

/** A point-in-time view of one service, as the API returns it. */
export interface ServiceInfo {
  readonly id: string;
  readonly state: ServiceState;
  readonly health: HealthStatus;
  /** Oldest first; at most the last 64. */
  readonly events: readonly ServiceEvent[];
}

/** What a service runner needs from its supervisor. */
export interface ServiceHost {
  /** Resolves when the service `id` is up; rejects when the signal aborts. */
  waitUp(id: string, signal: AbortSignal): Promise<void>;
  /** Called after every state or health change. */
  changed(runner: ServiceRunner): void;
  readonly defaultRestartIntervalMs?: number;
  readonly now: () => number;
  /** Called for every event a service records (machine events feed). */
  readonly recorded?: (id: string, event: ServiceEvent) => void;
}

interface Final {
  readonly state: ServiceState;
  readonly message: string;
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}


/**
 * One service's state machine. A start runs the lifecycle
 *
 *   Waiting (dependencies + condition) → Preparing (prepare, build runner) → Running ⇄ Waiting (restarts)
 *
 * and ends in Finished, Failed or Skipped. A stop aborts whichever step is current: the runner
 * stops its process (Stopping), and the service settles in Finished.
 */
export class ServiceRunner {
  readonly id: string;
  readonly health: HealthTracker;
  readonly #events = new EventRing();
  #state: ServiceState = ServiceState.Initialized;
  #active: { readonly ac: AbortController; readonly done: Promise<void> } | undefined;

  constructor(
    readonly definition: ServiceDefinition,
    private readonly host: ServiceHost,
    readonly log: ServiceLog,
    private readonly logger: Logger,
  ) {
    this.id = definition.id;
    this.health = new HealthTracker(host.now);
    this.health.subscribe((change) => {
      // Health flips are history only while the service runs, as upstream records them.
      if (this.#state === ServiceState.Running && !change.new.unknown) {
        const message = change.new.healthy ? 'Health check successful' : `Health check failed: ${change.new.lastMessage}`;
        this.#record(this.#state, message);
      }
      this.host.changed(this);
    });
  }

  /** The current state. */
  get state(): ServiceState {
    return this.#state;
  }

  /** True while a lifecycle (start … final state) is in progress. */
  get active(): boolean {
    return this.#active !== undefined;
  }

  /** Up: running and healthy (or without a health check), or finished/skipped, as upstream defines it. */
  isUp(): boolean {
    switch (this.#state) {
      case ServiceState.Finished:
      case ServiceState.Skipped:
        return true;
      case ServiceState.Running: {
        if (!this.definition.healthCheck) return true;
        const h = this.health.status;
        return !h.unknown && h.healthy;
      }
      default:
        return false;
    }
  }

  /** A snapshot for the API. */
  info(): ServiceInfo {
    return { id: this.id, state: this.#state, health: this.health.status, events: this.#events.list() };
  }

  /** Starts the lifecycle unless one is already in progress. */
  start(): void {
    if (this.#active) return;
    const ac = new AbortController();
    const done = this.#lifecycle(ac.signal).finally(() => {
      this.#active = undefined;
    });
    this.#active = { ac, done };
  }

  /** Stops the lifecycle (if any) and resolves once the service has settled. */
  async stop(): Promise<void> {
    const active = this.#active;
    if (!active) return;
    if (!active.ac.signal.aborted && !terminalStates.has(this.#state)) this.#setState(ServiceState.Stopping, 'Stopping service');
    active.ac.abort();
    await active.done;
  }

  #record(state: ServiceState, message: string): void {
    const event = { timestamp: this.host.now(), state, message };
    this.#events.push(event);
    this.host.recorded?.(this.id, event);
    this.logger.info(message, { state });
  }

  #setState(state: ServiceState, message: string): void {
    const wasRunning = this.#state === ServiceState.Running;
    this.#state = state;
    this.#record(state, message);
    if (wasRunning && state !== ServiceState.Running && this.definition.healthCheck && !this.health.status.unknown) {
      this.health.update(false, 'service not running');
    }
    this.host.changed(this);
  }

  async #lifecycle(signal: AbortSignal): Promise<void> {
    let runner: Runner | undefined;
    let final: Final;
    try {
      final = await this.#body(signal, (r) => (runner = r));
    } catch (err) {
      final = signal.aborted
        ? { state: ServiceState.Finished, message: 'Service finished successfully' }
        : { state: ServiceState.Failed, message: messageOf(err) };
    }
    if (runner) {
      try {
        await runner[Symbol.asyncDispose]();
      } catch (err) {
        this.logger.warn('disposing runner failed', { error: err });
      }
    }
    if (this.definition.postStop) {
      try {
        await this.definition.postStop(final.state);
      } catch (err) {
        final = { state: ServiceState.Failed, message: `Failed to run post stage: ${messageOf(err)}` };
      }
    }
    this.#setState(final.state, final.message);
  }

  async #waitDependencies(signal: AbortSignal): Promise<void> {
    const def = this.definition;
    const pending = new Map<string, Promise<void>>();
    for (const dep of def.dependsOn ?? []) pending.set(`service ${JSON.stringify(dep)} to be "up"`, this.host.waitUp(dep, signal));
    if (def.condition) pending.set(def.condition.description, def.condition.wait(signal));
    if (pending.size === 0) return;
    const describe = (): string => `Waiting for ${[...pending.keys()].join(', ')}`;
    this.#setState(ServiceState.Waiting, describe());
    // Re-record Waiting as parts are satisfied, so the history shows what is still missing.
    await Promise.all(
      [...pending].map(async ([name, p]) => {
        await p;
        pending.delete(name);
        if (pending.size > 0 && !signal.aborted) this.#setState(ServiceState.Waiting, describe());
      }),
    );
  }

  async #body(signal: AbortSignal, setRunner: (r: Runner) => void): Promise<Final> {
    const def = this.definition;
    await this.#step('Condition failed', () => this.#waitDependencies(signal));
    if (signal.aborted) throw signal.reason;

    this.#setState(ServiceState.Preparing, 'Running pre state');
    await this.#step('Failed to run pre stage', async () => def.prepare?.(signal));
    if (signal.aborted) throw signal.reason;

    this.#setState(ServiceState.Preparing, 'Creating service runner');
    let runner: Runner | undefined;
    await this.#step('Failed to create runner', async () => void (runner = def.runner({ log: this.log, logger: this.logger })));
    if (!runner) return { state: ServiceState.Skipped, message: 'Service skipped' };
    setRunner(runner);

    const policy = def.restart ?? RestartPolicy.Forever;
    const intervalMs = def.restartIntervalMs ?? this.host.defaultRestartIntervalMs ?? defaultRestartIntervalMs;
    for (;;) {
      const outcome = await this.#runOnce(runner, signal);
      if (signal.aborted) return { state: ServiceState.Finished, message: 'Service finished successfully' };
      const failed = `error running ${runner.description}: ${outcome.message}`;
      switch (policy) {
        case RestartPolicy.Once:
          return outcome.ok
            ? { state: ServiceState.Finished, message: 'Service finished successfully' }
            : { state: ServiceState.Failed, message: `Service failed: ${failed}` };
        case RestartPolicy.UntilSuccess:
          if (outcome.ok) return { state: ServiceState.Finished, message: 'Service finished successfully' };
          this.#setState(ServiceState.Waiting, `Error running ${runner.description}, going to restart until it succeeds: ${outcome.message}`);
          break;
        case RestartPolicy.Forever:
          this.#setState(
            ServiceState.Waiting,
            outcome.ok
              ? `${runner.description} exited without error, going to restart it`
              : `Error running ${runner.description}, going to restart forever: ${outcome.message}`,
          );
          break;
      }
      if (!(await sleepUnlessAborted(intervalMs, signal))) {
        this.#setState(ServiceState.Stopping, 'Aborting restart sequence');
        return { state: ServiceState.Finished, message: 'Service finished successfully' };
      }
    }
  }

  // Names the step in the Failed message, as upstream does ("Failed to run pre stage: ...").
  async #step(what: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      throw new Error(`${what}: ${messageOf(err)}`, { cause: err });
    }
  }

  async #runOnce(runner: Runner, signal: AbortSignal): Promise<RunOutcome> {
    const check = this.definition.healthCheck;
    const healthAc = new AbortController();
    let healthLoop: Promise<void> | undefined;
    const ctx: RunContext = {
      started: (message) => {
        if (check) this.health.reset();
        this.#setState(ServiceState.Running, message);
        if (check && !healthLoop) healthLoop = runHealthChecks(check, this.health, healthAc.signal);
      },
      event: (state, message) => this.#setState(state, message),
      log: (line) => this.log.append(line),
    };
    try {
      return await runner.run(signal, ctx);
    } catch (err) {
      return { ok: false, started: false, message: messageOf(err) };
    } finally {
      healthAc.abort();
      await healthLoop;
    }
  }
}
