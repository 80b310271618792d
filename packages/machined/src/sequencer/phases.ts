import type { Logger } from '@talos-ts/cosi';

/**
 * The sequences machined runs, by upstream's names (they appear in `machine.SequenceEvent` and in
 * `talosctl events`, and clients such as `talosctl reboot --wait` match on them).
 */
export type SequenceName = 'initialize' | 'install' | 'boot' | 'upgrade' | 'stageUpgrade' | 'reboot' | 'shutdown' | 'reset';

/** What a task is given: the node's runtime, its own logger, and the sequence's signal (aborted on takeover). */
export interface TaskContext<R> {
  readonly runtime: R;
  readonly sequence: SequenceName;
  readonly logger: Logger;
  readonly signal: AbortSignal;
}

/** One named step of a phase; tasks of a phase run concurrently, as upstream's. */
export interface Task<R> {
  /** lowerCamelCase, as upstream's task names (`stopAllServices` is what clients watch for). */
  readonly name: string;
  run(ctx: TaskContext<R>): Promise<void> | void;
}

/** A named group of tasks; phases of a sequence run one after another. */
export interface Phase<R> {
  readonly name: string;
  readonly tasks: readonly Task<R>[];
  /** Checked when the phase's turn comes (upstream's deferred check): false skips it silently. */
  readonly when?: () => boolean;
  /** The phase exists upstream but has nothing to do here yet: it is logged as skipped with this reason. */
  readonly skipped?: string;
}

/** Names a task function. */
export function task<R>(name: string, run: (ctx: TaskContext<R>) => Promise<void> | void): Task<R> {
  return { name, run };
}

/**
 * An ordered list of phases, built as upstream's PhaseList: adding a phase to a sequence is one
 * more `append` in its builder (see sequences.ts).
 */
export class PhaseList<R> {
  readonly #phases: Phase<R>[] = [];

  /** Appends a phase made of these tasks. */
  append(name: string, ...tasks: Task<R>[]): this {
    this.#phases.push({ name, tasks });
    return this;
  }

  /** Appends the phase only when `condition` holds now (decided when the sequence is built). */
  appendWhen(condition: boolean, name: string, ...tasks: Task<R>[]): this {
    return condition ? this.append(name, ...tasks) : this;
  }

  /** Appends a phase whose `check` is evaluated when its turn comes, after the phases before it ran. */
  appendDeferred(check: () => boolean, name: string, ...tasks: Task<R>[]): this {
    this.#phases.push({ name, tasks, when: check });
    return this;
  }

  /** Appends a phase that upstream runs and that has no meaning here yet; it is reported as skipped. */
  appendSkipped(name: string, reason: string): this {
    this.#phases.push({ name, tasks: [], skipped: reason });
    return this;
  }

  /** Appends every phase of another list. */
  appendList(list: PhaseList<R>): this {
    this.#phases.push(...list.phases);
    return this;
  }

  /** The phases, in order. */
  get phases(): readonly Phase<R>[] {
    return this.#phases;
  }
}
