import { setMaxListeners } from 'node:events';
import { systemClock, type Clock } from './clock.ts';
import type { Controller, ControllerContext, ControllerInput } from './controller.ts';
import { Code, TalosError } from './errors.ts';
import { nullLogger, type Logger } from './log.ts';
import type { Kind, Pointer, Resource } from './resource.ts';
import type { State } from './state.ts';

/** Restart backoff after a controller throws: initialMs, doubling (factor) up to maxMs. */
export interface BackoffOptions {
  readonly initialMs?: number;
  readonly maxMs?: number;
  readonly factor?: number;
}

/** Options of {@link Runtime}. */
export interface RuntimeOptions {
  readonly logger?: Logger;
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
}

/** What the runtime knows about one controller, for tests and `inspect`. */
export interface ControllerStatus {
  readonly name: string;
  readonly running: boolean;
  readonly restarts: number;
  readonly lastError: string | undefined;
  /** Times `run` saw a wake-up: shows coalescing at work. */
  readonly wakeups: number;
}

class Handle {
  dirty = true;
  running = false;
  restarts = 0;
  wakeups = 0;
  lastError: string | undefined;
  #waiter: (() => void) | undefined;

  constructor(readonly controller: Controller) {}

  notify(): void {
    this.dirty = true;
    const w = this.#waiter;
    this.#waiter = undefined;
    w?.();
  }

  wait(): Promise<void> {
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }
}

const sameKind = (a: Kind, b: Kind): boolean => a.namespace === b.namespace && a.type === b.type;

/**
 * Runs controllers against a state: wakes each when its inputs change (bursts coalesce), checks
 * that it reads only declared inputs and writes only declared outputs as their owner, and restarts
 * it with capped exponential backoff when it throws.
 */
export class Runtime {
  readonly state: State;
  readonly #handles: Handle[] = [];
  readonly #logger: Logger;
  readonly #clock: Clock;
  readonly #backoff: Required<BackoffOptions>;
  #started = false;

  constructor(state: State, options: RuntimeOptions = {}) {
    this.state = state;
    this.#logger = options.logger ?? nullLogger;
    this.#clock = options.clock ?? systemClock;
    this.#backoff = { initialMs: 100, maxMs: 30_000, factor: 2, ...options.backoff };
  }

  /** Adds controllers; only before `run`. */
  register(...controllers: Controller[]): void {
    if (this.#started) throw new TalosError(Code.FailedPrecondition, 'controllers must be registered before the runtime starts');
    for (const c of controllers) {
      if (this.#handles.some((h) => h.controller.name === c.name)) {
        throw new TalosError(Code.AlreadyExists, `controller ${c.name} is already registered`);
      }
      this.#handles.push(new Handle(c));
    }
  }

  /** The registered controllers, in registration order. */
  get controllers(): readonly Controller[] {
    return this.#handles.map((h) => h.controller);
  }

  /** Status of one controller. */
  status(name: string): ControllerStatus {
    const h = this.#handles.find((x) => x.controller.name === name);
    if (!h) throw new TalosError(Code.NotFound, `controller ${name} is not registered`);
    return { name, running: h.running, restarts: h.restarts, lastError: h.lastError, wakeups: h.wakeups };
  }

  /** Throws when two controllers claim one exclusive output type. */
  validate(): void {
    const writers = new Map<string, { name: string; kind: 'exclusive' | 'shared' }[]>();
    for (const h of this.#handles) {
      for (const o of h.controller.outputs) {
        const list = writers.get(o.type) ?? [];
        list.push({ name: h.controller.name, kind: o.kind });
        writers.set(o.type, list);
      }
    }
    for (const [type, list] of writers) {
      const exclusive = list.find((w) => w.kind === 'exclusive');
      if (exclusive && list.length > 1) {
        const others = list.filter((w) => w !== exclusive).map((w) => `${w.name} (${w.kind})`);
        throw new TalosError(
          Code.FailedPrecondition,
          `output type ${type} is exclusive to ${exclusive.name} but also declared by ${others.join(', ')}`,
        );
      }
    }
  }

  /** Starts every controller and resolves once the signal aborts and all of them have stopped. */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#started) throw new TalosError(Code.FailedPrecondition, 'runtime already started');
    this.validate();
    this.#started = true;
    // One listener on the caller's signal; every controller listens on ours instead.
    const inner = new AbortController();
    setMaxListeners(0, inner.signal);
    const stop = (): void => inner.abort(signal.reason);
    if (signal.aborted) stop();
    else signal.addEventListener('abort', stop, { once: true });
    try {
      await Promise.all(this.#handles.map((h) => this.#supervise(h, inner.signal)));
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  async #supervise(h: Handle, signal: AbortSignal): Promise<void> {
    const c = h.controller;
    const logger = this.#logger.child({ controller: c.name });
    const unsubscribe = c.inputs.map((input) => this.state.subscribe(input, (ev) => {
      const r = ev.resource;
      if (!r) return;
      if (input.id !== undefined && r.metadata.id !== input.id) return;
      if (input.kind === 'destroyReady' && !(r.metadata.phase === 'tearingDown' && r.metadata.finalizers.length === 0)) return;
      h.notify();
    }));
    const onAbort = (): void => h.notify();
    signal.addEventListener('abort', onAbort, { once: true });
    let delay = this.#backoff.initialMs;
    try {
      while (!signal.aborted) {
        const startedAt = this.#clock.now();
        h.running = true;
        try {
          await c.run(this.#context(h, logger, signal));
          if (!signal.aborted) logger.info('controller finished');
          return;
        } catch (err) {
          if (signal.aborted) return;
          h.restarts++;
          h.lastError = err instanceof Error ? err.message : String(err);
          if (this.#clock.now() - startedAt >= this.#backoff.maxMs) delay = this.#backoff.initialMs;
          logger.error('controller failed, restarting', { error: err, restartInMs: delay });
          h.running = false;
          try {
            await this.#clock.sleep(delay, signal);
          } catch {
            return;
          }
          delay = Math.min(delay * this.#backoff.factor, this.#backoff.maxMs);
          h.dirty = true;
        }
      }
    } finally {
      h.running = false;
      signal.removeEventListener('abort', onAbort);
      for (const u of unsubscribe) u();
    }
  }

  #context(h: Handle, logger: Logger, signal: AbortSignal): ControllerContext {
    const c = h.controller;
    const state = this.state;
    const clock = this.#clock;
    const owner = { owner: c.name };
    const canRead = (k: Kind): boolean =>
      c.inputs.some((i) => sameKind(i, k)) || c.outputs.some((o) => o.type === k.type);
    const read = (k: Kind): void => {
      if (!canRead(k)) {
        throw new TalosError(Code.PermissionDenied, `controller ${c.name} reads ${k.namespace}/${k.type}, which is not a declared input`);
      }
    };
    const write = (k: Kind): void => {
      if (!c.outputs.some((o) => o.type === k.type)) {
        throw new TalosError(Code.PermissionDenied, `controller ${c.name} writes ${k.type}, which is not a declared output`);
      }
    };
    const finalize = (p: Pointer): void => {
      const strong = (i: ControllerInput): boolean => i.kind === 'strong' && sameKind(i, p) && (i.id === undefined || i.id === p.id);
      if (!c.inputs.some(strong)) {
        throw new TalosError(Code.PermissionDenied, `controller ${c.name} sets finalizers on ${p.namespace}/${p.type}, which is not a strong input`);
      }
    };
    return {
      signal,
      logger,
      clock,
      async *changes() {
        while (!signal.aborted) {
          if (!h.dirty) await h.wait();
          if (signal.aborted) return;
          // Let the rest of a burst land before reconciling once for all of it.
          await new Promise<void>((r) => setImmediate(r));
          if (signal.aborted) return;
          h.dirty = false;
          h.wakeups++;
          yield;
        }
      },
      requeueAfter(ms) {
        clock.sleep(ms, signal).then(() => h.notify(), () => {});
      },
      get: (p) => (read(p), state.get(p)),
      find: (p) => (read(p), state.find(p)),
      list: (k, o) => (read(k), state.list(k, o)),
      create: <S>(r: Resource<S>) => (write(r.metadata), state.create(r, owner)),
      update: (r, o = {}) => (write(r.metadata), state.update(r, { ...o, ...owner })),
      modify: (p, initial, fn) => (write(p), state.modify(p, fn, { ...owner, initial })),
      teardown: (p) => (write(p), state.teardown(p, owner)),
      destroy: (p) => (write(p), state.destroy(p, owner)),
      addFinalizer: (p, ...f) => (finalize(p), state.addFinalizer(p, ...f)),
      removeFinalizer: (p, ...f) => (finalize(p), state.removeFinalizer(p, ...f)),
    };
  }
}
