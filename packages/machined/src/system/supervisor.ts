import { Code, TalosError, nullLogger, type Logger, type State } from '@talos-ts/cosi';
import { ServiceType, newService, type ServiceSpec } from '@talos-ts/machinery';
import { ServiceState, type ServiceEvent } from './events.ts';
import { ServiceLog, defaultLogSizeBytes } from './log.ts';
import { ServiceRunner, type ServiceHost, type ServiceInfo } from './service-runner.ts';
import type { ServiceDefinition } from './service.ts';

/** Options of {@link ServiceSupervisor}. */
export interface SupervisorOptions {
  /** Where Service resources are published (runtime namespace); none when omitted. */
  readonly state?: State;
  /** Owner the Service resources are written as. */
  readonly owner?: string;
  readonly logger?: Logger;
  /** Keep each service's log on disk too, in `<logDir>/<id>.log` and `<id>.log.1`, each capped at `logSizeBytes`. */
  readonly logDir?: string;
  /** In-memory log bound per service (default 1 MiB). */
  readonly logSizeBytes?: number;
  /** Restart interval for services that do not set their own (default 5 s). */
  readonly restartIntervalMs?: number;
  readonly now?: () => number;
  /** Receives every event any service records, e.g. to publish machine events. */
  readonly onEvent?: (id: string, event: ServiceEvent) => void;
}

/** Owner of Service resources, named after upstream's controller that publishes them. */
export const serviceResourceOwner = 'v1alpha1.ServiceController';

function canceled(signal: AbortSignal): TalosError {
  return new TalosError(Code.Canceled, 'wait aborted', { cause: signal.reason });
}

/**
 * machined's service supervisor: loads service definitions, starts them in dependency order,
 * restarts them by policy, stops them (all of them in reverse dependency order), and publishes
 * each service's state as a Service resource.
 */
export class ServiceSupervisor implements AsyncDisposable {
  readonly #services = new Map<string, ServiceRunner>();
  readonly #waiters = new Set<() => void>();
  readonly #logger: Logger;
  readonly #options: SupervisorOptions;
  readonly #host: ServiceHost;
  #terminating = false;

  constructor(options: SupervisorOptions = {}) {
    this.#options = options;
    this.#logger = options.logger ?? nullLogger;
    this.#host = {
      waitUp: (id, signal) => this.#waitUntil(() => this.#services.get(id)?.isUp() === true, signal),
      changed: (runner) => this.#changed(runner),
      now: options.now ?? Date.now,
      ...(options.restartIntervalMs !== undefined ? { defaultRestartIntervalMs: options.restartIntervalMs } : {}),
      ...(options.onEvent ? { recorded: options.onEvent } : {}),
    };
  }

  /**
   * Adds services (already loaded ids are ignored, as upstream does) and returns their ids.
   * Rejects a batch that would make the dependency graph cyclic.
   */
  load(...definitions: ServiceDefinition[]): string[] {
    if (this.#terminating) throw new TalosError(Code.FailedPrecondition, 'supervisor is shutting down');
    const fresh = definitions.filter((d) => !this.#services.has(d.id));
    const deps = new Map<string, readonly string[]>();
    for (const s of this.#services.values()) deps.set(s.id, s.definition.dependsOn ?? []);
    for (const d of fresh) {
      if (deps.has(d.id)) throw new TalosError(Code.InvalidArgument, `service ${JSON.stringify(d.id)} defined twice`);
      deps.set(d.id, d.dependsOn ?? []);
    }
    const cycle = findCycle(deps);
    if (cycle) throw new TalosError(Code.InvalidArgument, `service dependency cycle: ${cycle.join(' → ')}`);
    for (const d of fresh) {
      const logger = this.#logger.child({ service: d.id });
      const log = new ServiceLog(d.id, {
        sizeBytes: this.#options.logSizeBytes ?? defaultLogSizeBytes,
        ...(this.#options.logDir !== undefined ? { logDir: this.#options.logDir } : {}),
      });
      const runner = new ServiceRunner(d, this.#host, log, logger);
      this.#services.set(d.id, runner);
      this.#publish(runner);
    }
    return definitions.map((d) => d.id);
  }

  /** Starts services by id (no-op for those already started); each waits for its dependencies. */
  start(...ids: string[]): void {
    if (this.#terminating) throw new TalosError(Code.FailedPrecondition, 'supervisor is shutting down');
    const runners = ids.map((id) => this.#runner(id));
    for (const r of runners) r.start();
  }

  /** Starts every loaded service. */
  startAll(): void {
    this.start(...this.#services.keys());
  }

  /** Loads and starts. */
  loadAndStart(...definitions: ServiceDefinition[]): void {
    this.start(...this.load(...definitions));
  }

  /**
   * Stops one service and resolves once it settled (Finished). The signal bounds the wait only:
   * an aborted wait rejects with Canceled while the stop carries on.
   */
  async stop(id: string, signal?: AbortSignal): Promise<void> {
    await this.#bounded(this.#runner(id).stop(), signal);
  }

  /** Stops the service (if running) and starts it again. */
  async restart(id: string, signal?: AbortSignal): Promise<void> {
    await this.stop(id, signal);
    this.start(id);
  }

  /** Stops every service, each only after all services depending on it have stopped. */
  async stopAll(signal?: AbortSignal): Promise<void> {
    const dependents = new Map<string, string[]>();
    for (const s of this.#services.values()) {
      for (const dep of s.definition.dependsOn ?? []) dependents.set(dep, [...(dependents.get(dep) ?? []), s.id]);
    }
    const stops = new Map<string, Promise<void>>();
    const stopOne = (id: string): Promise<void> => {
      let p = stops.get(id);
      if (!p) {
        const runner = this.#services.get(id);
        p = Promise.all((dependents.get(id) ?? []).map(stopOne)).then(() => runner?.stop());
        stops.set(id, p);
      }
      return p;
    };
    await this.#bounded(Promise.all([...this.#services.keys()].map(stopOne)).then(() => {}), signal);
  }

  /** Snapshots of every service, sorted by id. */
  list(): ServiceInfo[] {
    return [...this.#services.values()].map((s) => s.info()).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Snapshot of one service; NotFound for unknown ids. */
  get(id: string): ServiceInfo {
    return this.#runner(id).info();
  }

  /** The log of one service; NotFound for unknown ids. */
  logs(id: string): ServiceLog {
    return this.#runner(id).log;
  }

  /** Resolves with the service's snapshot once `predicate` holds for it; rejects Canceled on abort. */
  async waitFor(id: string, predicate: (info: ServiceInfo) => boolean, signal: AbortSignal): Promise<ServiceInfo> {
    const runner = this.#runner(id);
    await this.#waitUntil(() => predicate(runner.info()), signal);
    return runner.info();
  }

  /** Stops everything and refuses further loads and starts. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#terminating = true;
    await this.stopAll();
    await Promise.all([...this.#services.values()].map((s) => s.log[Symbol.asyncDispose]()));
  }

  #runner(id: string): ServiceRunner {
    const r = this.#services.get(id);
    if (!r) throw new TalosError(Code.NotFound, `service ${JSON.stringify(id)} not defined`);
    return r;
  }

  #changed(runner: ServiceRunner): void {
    this.#publish(runner);
    for (const w of [...this.#waiters]) w();
  }

  #publish(runner: ServiceRunner): void {
    const state = this.#options.state;
    if (!state) return;
    const health = runner.health.status;
    const spec: ServiceSpec = {
      running: runner.state === ServiceState.Running,
      healthy: !health.unknown && health.healthy,
      unknown: health.unknown,
    };
    const resource = newService(runner.id, spec);
    try {
      state.modify<ServiceSpec>(
        { namespace: resource.metadata.namespace, type: ServiceType, id: runner.id },
        (draft) => {
          draft.spec = { ...spec };
        },
        { initial: spec, owner: this.#options.owner ?? serviceResourceOwner },
      );
    } catch (err) {
      this.#logger.error('publishing service resource failed', { service: runner.id, error: err });
    }
  }

  #waitUntil(ready: () => boolean, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal.aborted) return reject(canceled(signal));
      if (ready()) return resolve();
      const check = (): void => {
        if (ready()) finish(resolve);
      };
      const onAbort = (): void => finish(() => reject(canceled(signal)));
      const finish = (settle: () => void): void => {
        this.#waiters.delete(check);
        signal.removeEventListener('abort', onAbort);
        settle();
      };
      this.#waiters.add(check);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  async #bounded(work: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
    if (!signal) return work;
    if (signal.aborted) throw canceled(signal);
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(canceled(signal));
      signal.addEventListener('abort', onAbort, { once: true });
    });
    try {
      await Promise.race([work, aborted]);
    } finally {
      if (onAbort) signal.removeEventListener('abort', onAbort);
    }
  }
}

function findCycle(deps: ReadonlyMap<string, readonly string[]>): string[] | undefined {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  const visit = (id: string): string[] | undefined => {
    if (onPath.has(id)) return [...path.slice(path.indexOf(id)), id];
    if (done.has(id) || !deps.has(id)) return undefined;
    onPath.add(id);
    path.push(id);
    for (const d of deps.get(id) ?? []) {
      const c = visit(d);
      if (c) return c;
    }
    path.pop();
    onPath.delete(id);
    done.add(id);
    return undefined;
  };
  for (const id of deps.keys()) {
    const c = visit(id);
    if (c) return c;
  }
  return undefined;
}
