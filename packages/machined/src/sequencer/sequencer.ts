import { Code, TalosError, type Logger } from '@talos-ts/cosi';
import { machineEvents } from '../events/machine-events.ts';
import type { Phase, PhaseList, SequenceName, Task } from './phases.ts';
import { canTakeOver, PriorityLock, SequenceLockedError, type HeldLock } from './priority-lock.ts';

/** Upstream waits a minute for a taken-over sequence to stop before giving up. */
export const defaultTakeOverTimeoutMs = 60_000;

/** Options of a {@link Sequencer}. */
export interface SequencerOptions {
  /** Where sequence, phase and task events go (the node's event bus). */
  readonly publish: (type: string, payload: unknown) => void;
  readonly logger: Logger;
  readonly takeOverTimeoutMs?: number;
}

/** Options of one run. */
export interface RunOptions {
  /** Take over whatever runs, whatever the priorities (upstream's WithTakeover: shutdown, signals). */
  readonly takeover?: boolean;
}

/** A started sequence: `done` settles when its last phase ran (or one failed). */
export interface StartedSequence {
  readonly done: Promise<void>;
}

/**
 * Runs named sequences of phases of tasks, one sequence at a time (see {@link PriorityLock}), as
 * upstream's machined controller: phases run in order and each phase's tasks concurrently; a failed
 * task stops its sequence. Every sequence, phase and task publishes START and STOP events (upstream's
 * machine.SequenceEvent, PhaseEvent and TaskEvent), and a sequence that fails or is refused
 * publishes a NOOP event carrying the error (FATAL, CANCELED or LOCKED).
 */
export class Sequencer<R> {
  readonly #runtime: R;
  readonly #options: SequencerOptions;
  readonly #lock = new PriorityLock();

  constructor(runtime: R, options: SequencerOptions) {
    this.#runtime = runtime;
    this.#options = options;
  }

  /** The sequence that holds the lock, if any. */
  get running(): SequenceName | undefined {
    return this.#lock.running;
  }

  /**
   * Takes the lock and starts the sequence; resolves once it runs, rejects when it was refused
   * ({@link SequenceLockedError}). `build` makes the phases once the lock is held, so a sequence
   * built after a takeover sees what the one it replaced left behind.
   */
  async start(name: SequenceName, build: () => PhaseList<R>, options: RunOptions = {}): Promise<StartedSequence> {
    let held: HeldLock;
    try {
      held = await this.#lock.lock(name, { timeoutMs: this.#options.takeOverTimeoutMs ?? defaultTakeOverTimeoutMs, ...(options.takeover ? { takeover: true } : {}) });
    } catch (err) {
      const code = err instanceof SequenceLockedError ? 'locked' : 'fatal';
      this.#options.publish('machine.SequenceEvent', machineEvents.sequenceError(name, code, `sequence not started: ${(err as Error).message}`));
      this.#options.logger.warn('sequence not started', { sequence: name, error: (err as Error).message });
      throw err;
    }
    let phases: readonly Phase<R>[];
    try {
      phases = build().phases;
    } catch (err) {
      held.release();
      throw err;
    }
    return { done: this.#run(name, phases, held) };
  }

  /**
   * Throws the refusal {@link start} would give `name` now (and publishes it the same way), without
   * taking the lock: for callers with slow work to do before starting (an upgrade's download), so a
   * sequence that would be refused anyway is refused before that work.
   */
  checkStartable(name: SequenceName): void {
    const running = this.#lock.running;
    if (running === undefined || canTakeOver(name, running)) return;
    const err = new SequenceLockedError(name, running);
    this.#options.publish('machine.SequenceEvent', machineEvents.sequenceError(name, 'locked', `sequence not started: ${err.message}`));
    this.#options.logger.warn('sequence not started', { sequence: name, error: err.message });
    throw err;
  }

  /** Starts the sequence and waits for it to end; throws what refused or failed it. */
  async run(name: SequenceName, build: () => PhaseList<R>, options: RunOptions = {}): Promise<void> {
    const started = await this.start(name, build, options);
    await started.done;
  }

  async #run(name: SequenceName, phases: readonly Phase<R>[], held: HeldLock): Promise<void> {
    const { publish } = this.#options;
    const logger = this.#options.logger.child({ sequence: name });
    const started = Date.now();
    publish('machine.SequenceEvent', machineEvents.sequence(name, true));
    logger.info(`${name} sequence: ${phases.length} phase(s)`);
    let failure: unknown;
    try {
      for (const [i, phase] of phases.entries()) {
        throwIfAborted(held.signal);
        const progress = `${i + 1}/${phases.length}`;
        if (phase.when && !phase.when()) continue;
        if (phase.skipped !== undefined) {
          logger.info(`phase ${phase.name} (${progress}): skipped: ${phase.skipped}`, { phase: phase.name });
          continue;
        }
        await this.#phase(name, phase, progress, held.signal, logger);
      }
      throwIfAborted(held.signal);
      logger.info(`${name} sequence: done`, { durationMs: Date.now() - started });
    } catch (err) {
      failure = err;
    } finally {
      publish('machine.SequenceEvent', machineEvents.sequence(name, false));
    }
    try {
      if (failure !== undefined) {
        const canceled = held.signal.aborted || (failure instanceof TalosError && failure.code === Code.Canceled);
        const message = (failure as Error).message ?? String(failure);
        publish('machine.SequenceEvent', machineEvents.sequenceError(name, canceled ? 'canceled' : 'fatal', `sequence failed: ${message}`));
        logger.error(`${name} sequence: failed`, { error: message });
        throw failure;
      }
    } finally {
      held.release();
    }
  }

  async #phase(sequence: SequenceName, phase: Phase<R>, progress: string, signal: AbortSignal, logger: Logger): Promise<void> {
    const { publish } = this.#options;
    const started = Date.now();
    logger.info(`phase ${phase.name} (${progress}): ${phase.tasks.length} task(s)`, { phase: phase.name });
    publish('machine.PhaseEvent', machineEvents.phase(phase.name, true));
    // A failed task cancels its siblings, as upstream's errgroup does.
    const abort = new AbortController();
    const onAbort = (): void => abort.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    // The first task to fail is the cause; its siblings then fail with its abort.
    let first: { readonly task: Task<R>; readonly error: TalosError } | undefined;
    try {
      await Promise.allSettled(
        phase.tasks.map(async (t, j) => {
          try {
            await this.#task(sequence, t, `${j + 1}/${phase.tasks.length}`, abort.signal, logger);
          } catch (err) {
            first ??= { task: t, error: TalosError.from(err) };
            abort.abort(err);
          }
        }),
      );
      if (first) {
        logger.error(`phase ${phase.name} (${progress}): failed`, { phase: phase.name });
        const { task: t, error } = first;
        throw new TalosError(error.code, `error running phase ${phase.name} (${progress}) in ${sequence} sequence: task ${t.name}: ${error.message}`, { cause: error });
      }
      logger.info(`phase ${phase.name} (${progress}): done`, { phase: phase.name, durationMs: Date.now() - started });
    } finally {
      signal.removeEventListener('abort', onAbort);
      publish('machine.PhaseEvent', machineEvents.phase(phase.name, false));
    }
  }

  async #task(sequence: SequenceName, t: Task<R>, progress: string, signal: AbortSignal, parent: Logger): Promise<void> {
    const logger = parent.child({ task: t.name });
    const started = Date.now();
    this.#options.publish('machine.TaskEvent', machineEvents.task(t.name, true));
    logger.debug(`task ${t.name} (${progress}): starting`);
    try {
      await t.run({ runtime: this.#runtime, sequence, logger, signal });
      logger.debug(`task ${t.name} (${progress}): done`, { durationMs: Date.now() - started });
    } catch (err) {
      logger.error(`task ${t.name} (${progress}): failed`, { error: (err as Error).message ?? String(err) });
      throw err;
    } finally {
      this.#options.publish('machine.TaskEvent', machineEvents.task(t.name, false));
    }
  }
}

function throwIfAborted(signal: AbortSignal): void {
  if (!signal.aborted) return;
  const reason: unknown = signal.reason;
  throw reason instanceof TalosError ? reason : new TalosError(Code.Canceled, 'sequence canceled', { cause: reason });
}
