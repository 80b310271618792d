import type { Clock } from './clock.ts';
import type { Logger } from './log.ts';
import type { Kind, Pointer, Resource } from './resource.ts';
import type { Draft, QueryOptions, UpdateOptions } from './state.ts';

/**
 * How a controller depends on an input: `weak` and `strong` wake it on every change (strong inputs
 * may also carry the controller's finalizers), `destroyReady` wakes it only when a resource that
 * is tearing down has no finalizers left.
 */
export type InputKind = 'weak' | 'strong' | 'destroyReady';

/** A declared input: a kind, optionally narrowed to one id. */
export interface ControllerInput extends Kind {
  readonly id?: string;
  readonly kind: InputKind;
}

/** A declared output: exclusive types have exactly one writer; shared types several. */
export interface ControllerOutput {
  readonly type: string;
  readonly kind: 'exclusive' | 'shared';
}

/** What a controller's `run` receives: wake-ups, a reader of its inputs, a writer of its outputs. */
export interface ControllerContext {
  readonly signal: AbortSignal;
  readonly logger: Logger;
  readonly clock: Clock;
  /**
   * Yields once at start and then once per burst of input changes (bursts coalesce into one
   * wake-up); ends when the runtime stops.
   */
  changes(): AsyncIterable<void>;
  /** Asks for another wake-up after ms, e.g. to retry or to refresh before expiry. */
  requeueAfter(ms: number): void;

  get<S = unknown>(pointer: Pointer): Resource<S>;
  find<S = unknown>(pointer: Pointer): Resource<S> | undefined;
  list<S = unknown>(kind: Kind, options?: QueryOptions): readonly Resource<S>[];

  create<S>(resource: Resource<S>): Resource<S>;
  update<S>(resource: Resource<S>, options?: Omit<UpdateOptions, 'owner'>): Resource<S>;
  /** Creates (from `initial`) or changes a resource this controller owns; no write when unchanged. */
  modify<S>(pointer: Pointer, initial: S, fn: (draft: Draft<S>) => void): Resource<S>;
  teardown(pointer: Pointer): boolean;
  destroy(pointer: Pointer): void;
  addFinalizer(pointer: Pointer, ...finalizers: string[]): void;
  removeFinalizer(pointer: Pointer, ...finalizers: string[]): void;
}

/** A controller: a declaration (name, inputs, outputs) plus a reconcile loop. */
export interface Controller {
  /** `<area>.<Name>Controller`, e.g. `network.AddressMergeController`. */
  readonly name: string;
  readonly inputs: readonly ControllerInput[];
  readonly outputs: readonly ControllerOutput[];
  run(ctx: ControllerContext): Promise<void>;
}
