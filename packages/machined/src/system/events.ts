/**
 * Run states of a supervised service, with upstream's names and meanings:
 * - Initialized: loaded, never started;
 * - Preparing: running the pre-start hook and building the runner;
 * - Waiting: waiting for dependencies / a condition, or between restarts;
 * - Running: the runner reported the service started;
 * - Stopping: a stop was requested and is in progress;
 * - Finished: ended without error (including a requested stop);
 * - Failed: ended with an error and the restart policy gave up;
 * - Skipped: the service decided not to run (its runner factory returned nothing).
 */
export const ServiceState = {
  Initialized: 'Initialized',
  Preparing: 'Preparing',
  Waiting: 'Waiting',
  Running: 'Running',
  Stopping: 'Stopping',
  Finished: 'Finished',
  Failed: 'Failed',
  Skipped: 'Skipped',
} as const;

/** One of the {@link ServiceState} names. */
export type ServiceState = (typeof ServiceState)[keyof typeof ServiceState];

/** States a service does not leave on its own. */
export const terminalStates: ReadonlySet<ServiceState> = new Set([ServiceState.Finished, ServiceState.Failed, ServiceState.Skipped]);

/** One entry of a service's history: a state change or a health change. */
export interface ServiceEvent {
  /** Unix milliseconds. */
  readonly timestamp: number;
  readonly state: ServiceState;
  readonly message: string;
}

/** Events kept per service before the oldest are dropped (upstream keeps 64). */
export const maxEventsToKeep = 64;

/** A fixed-size ring of the most recent events; `list()` returns them oldest first. */
export class EventRing {
  readonly #slots: (ServiceEvent | undefined)[];
  #next = 0;
  #count = 0;
  #dropped = 0;

  constructor(readonly capacity: number = maxEventsToKeep) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`event ring capacity must be a positive integer, got ${capacity}`);
    this.#slots = new Array<ServiceEvent | undefined>(capacity);
  }

  /** Appends an event, overwriting the oldest once full. */
  push(event: ServiceEvent): void {
    if (this.#count === this.capacity) this.#dropped++;
    else this.#count++;
    this.#slots[this.#next] = event;
    this.#next = (this.#next + 1) % this.capacity;
  }

  /** Events dropped so far because the ring was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** The last `count` events (all by default), oldest first. */
  list(count: number = this.capacity): ServiceEvent[] {
    const n = Math.max(0, Math.min(count, this.#count));
    const out: ServiceEvent[] = [];
    for (let i = n; i > 0; i--) {
      const e = this.#slots[(this.#next - i + this.capacity) % this.capacity];
      if (e) out.push(e);
    }
    return out;
  }
}
