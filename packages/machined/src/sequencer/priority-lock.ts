import { Code, TalosError } from '@talos-ts/cosi';
import type { SequenceName } from './phases.ts';

/**
 * Which running sequence (key) a requested one (values) may take over, as upstream's table:
 * boot yields to reboot, reset and upgrade; initialize (maintenance mode) to reboot; reboot and
 * reset only to reboot. Anything else asked while a sequence runs is refused.
 */
const takeOver: Partial<Record<SequenceName, readonly SequenceName[]>> = {
  initialize: ['reboot'],
  boot: ['reboot', 'reset', 'upgrade'],
  reboot: ['reboot'],
  reset: ['reboot'],
};

/** True when `requested` may cancel `running` and start in its place. */
export function canTakeOver(requested: SequenceName, running: SequenceName | undefined): boolean {
  if (running === undefined) return true;
  return takeOver[running]?.includes(requested) ?? false;
}

/** A sequence was refused because another one runs and may not be taken over (upstream's ErrLocked). */
export class SequenceLockedError extends TalosError {
  readonly requested: SequenceName;
  readonly running: SequenceName;

  constructor(requested: SequenceName, running: SequenceName) {
    super(Code.FailedPrecondition, `${requested} sequence not started: the ${running} sequence is running (locked)`, { details: { requested, running } });
    this.name = 'SequenceLockedError';
    this.requested = requested;
    this.running = running;
  }
}

/** True when err is a refusal because another sequence holds the lock. */
export function isSequenceLocked(err: unknown): err is SequenceLockedError {
  return err instanceof SequenceLockedError;
}

/** The reason a running sequence's signal carries when another one takes it over. */
export class SequenceTakenOverError extends TalosError {
  constructor(running: SequenceName, by: SequenceName) {
    super(Code.Canceled, `${running} sequence canceled: taken over by ${by}`);
    this.name = 'SequenceTakenOverError';
  }
}

/** A held lock: the sequence runs under `signal` and calls `release` when it ends. */
export interface HeldLock {
  readonly signal: AbortSignal;
  release(): void;
}

interface Holder {
  readonly name: SequenceName;
  readonly abort: AbortController;
  readonly released: Promise<void>;
  readonly release: () => void;
}

/**
 * One sequence at a time, with upstream's priorities: a request that may take over the running
 * sequence cancels it and waits (up to `timeoutMs`) for it to let go; one that may not is refused
 * with {@link SequenceLockedError}. `takeover` forces it (upstream's WithTakeover, used by shutdown).
 * Requests decide one at a time, so two takeovers never both win.
 */
export class PriorityLock {
  #holder: Holder | undefined;
  #deciding: Promise<void> = Promise.resolve();

  /** The running sequence's name, if any. */
  get running(): SequenceName | undefined {
    return this.#holder?.name;
  }

  /** Takes the lock for `name`; see the class comment for the rules. */
  lock(name: SequenceName, options: { takeover?: boolean; timeoutMs: number }): Promise<HeldLock> {
    const turn = this.#deciding.then(() => this.#decide(name, options));
    this.#deciding = turn.then(
      () => undefined,
      () => undefined,
    );
    return turn;
  }

  async #decide(name: SequenceName, options: { takeover?: boolean; timeoutMs: number }): Promise<HeldLock> {
    const current = this.#holder;
    if (current) {
      if (!options.takeover && !canTakeOver(name, current.name)) throw new SequenceLockedError(name, current.name);
      current.abort.abort(new SequenceTakenOverError(current.name, name));
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), options.timeoutMs)));
      const outcome = await Promise.race([current.released.then(() => 'released' as const), timedOut]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        throw new TalosError(Code.DeadlineExceeded, `${name} sequence not started: the ${current.name} sequence did not stop within ${options.timeoutMs} ms`);
      }
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const holder: Holder = {
      name,
      abort: new AbortController(),
      released,
      release: () => {
        if (this.#holder === holder) this.#holder = undefined;
        release();
      },
    };
    this.#holder = holder;
    return { signal: holder.abort.signal, release: holder.release };
  }
}
