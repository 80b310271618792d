import { InMemoryState, Runtime, bootstrapMeta, nullLogger, type BackoffOptions, type Clock, type Controller, type Logger } from '@talos-ts/cosi';

/** Options of {@link startControllerSuite}. */
export interface ControllerSuiteOptions {
  readonly controllers: readonly Controller[];
  readonly clock?: Clock;
  readonly backoff?: BackoffOptions;
  readonly logger?: Logger;
}

/** A real runtime on fresh in-memory state; dispose it (`await using`) to stop every controller. */
export interface ControllerSuite extends AsyncDisposable {
  readonly state: InMemoryState;
  readonly runtime: Runtime;
  /** Resolves when the runtime has stopped; rejects if it failed to start. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Starts the given controllers on the real runtime over in-memory state. */
export function startControllerSuite(options: ControllerSuiteOptions): ControllerSuite {
  const state = new InMemoryState();
  bootstrapMeta(state);
  const runtime = new Runtime(state, {
    logger: options.logger ?? nullLogger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.backoff ? { backoff: options.backoff } : {}),
  });
  runtime.register(...options.controllers);
  const abort = new AbortController();
  const done = runtime.run(abort.signal);
  const stop = async (): Promise<void> => {
    abort.abort();
    await done;
  };
  return { state, runtime, done, stop, [Symbol.asyncDispose]: stop };
}
