import { Code, TalosError } from '@talos-ts/cosi';

/** What the upgrade in flight is doing, for the refusal of another one. */
export type UpgradeStep = 'fetching the installer' | 'checking etcd' | 'running the upgrade sequence' | 'staging';

/** The upgrade a node is busy with. */
export interface UpgradeInFlight {
  readonly actorId: string;
  readonly image: string;
  readonly startedAtMs: number;
  readonly step: UpgradeStep;
}

/**
 * An upgrade was asked while another one is in flight. Upstream words the like refusal of a
 * second apply-config as FailedPrecondition "another apply configuration is already in progress".
 */
export class UpgradeInProgressError extends TalosError {
  readonly current: UpgradeInFlight;

  constructor(image: string, current: UpgradeInFlight, nowMs: number) {
    const ageSeconds = Math.max(0, Math.round((nowMs - current.startedAtMs) / 1000));
    super(
      Code.FailedPrecondition,
      `upgrade to ${image} refused: another upgrade is already in progress (to ${current.image}, actor ${current.actorId}, ${current.step}, started ${ageSeconds} s ago); the node keeps its current version until that one ends`,
      { details: { actorId: current.actorId, image: current.image, step: current.step } },
    );
    this.name = 'UpgradeInProgressError';
    this.current = current;
  }
}

/** True when err refused an upgrade because another one is in flight. */
export function isUpgradeInProgress(err: unknown): err is UpgradeInProgressError {
  return err instanceof UpgradeInProgressError;
}

/** A held turn: say what it does now, and release it when the upgrade ended (or failed) either way. */
export interface UpgradeTurn extends Disposable {
  step(step: UpgradeStep): void;
  release(): void;
}

/**
 * One upgrade at a time, from the API call on. The sequencer's lock alone would let two calls
 * download at once (the lock is taken only once the installer is fetched and checked) and let the
 * faster one win; the gate refuses the second call at once, before it fetches anything.
 */
export class UpgradeGate {
  #current: UpgradeInFlight | undefined;
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** The upgrade in flight, if any. */
  get current(): UpgradeInFlight | undefined {
    return this.#current;
  }

  /** Takes the turn for an upgrade to `image`; throws {@link UpgradeInProgressError} while another holds it. */
  enter(actorId: string, image: string, step: UpgradeStep = 'fetching the installer'): UpgradeTurn {
    if (this.#current) throw new UpgradeInProgressError(image, this.#current, this.#now());
    const mine: { value: UpgradeInFlight } = { value: { actorId, image, startedAtMs: this.#now(), step } };
    this.#current = mine.value;
    const release = (): void => {
      if (this.#current === mine.value) this.#current = undefined;
    };
    return {
      step: (s) => {
        if (this.#current !== mine.value) return;
        mine.value = { ...mine.value, step: s };
        this.#current = mine.value;
      },
      release,
      [Symbol.dispose]: release,
    };
  }
}
