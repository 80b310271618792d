import type { Kind, Pointer, Resource, State } from '@talos-ts/cosi';

/** Options of the waiting assertions. */
export interface WaitOptions {
  /** Upper bound on the wait; the assertion fails after it. Default 5000 ms. */
  readonly timeoutMs?: number;
}

/** Expected resources: these ids exist and each passes `check` (which throws when unsatisfied). */
export interface ResourceExpectation<S> extends WaitOptions {
  readonly ids: readonly string[];
  readonly check?: (resource: Resource<S>) => void;
  /** Also require that no other ids exist. */
  readonly exact?: boolean;
}

/**
 * Waits until the kind holds the expected resources, re-checking on every change of that kind,
 * and fails with the last reason after the timeout.
 */
export async function assertResources<S>(state: State, kind: Kind, expect: ResourceExpectation<S>): Promise<Resource<S>[]> {
  const evaluate = (): Resource<S>[] => {
    const found: Resource<S>[] = [];
    for (const id of expect.ids) {
      const r = state.find<S>({ ...kind, id });
      if (!r) throw new Error(`${kind.namespace}/${kind.type}/${id} does not exist`);
      expect.check?.(r);
      found.push(r);
    }
    if (expect.exact) {
      const extra = state.list(kind).filter((r) => !expect.ids.includes(r.metadata.id));
      if (extra.length > 0) throw new Error(`unexpected ${kind.type}: ${extra.map((r) => r.metadata.id).join(', ')}`);
    }
    return found;
  };
  return waitUntil(state, kind, evaluate, expect.timeoutMs ?? 5000);
}

/** Waits until the resource does not exist. */
export async function assertNoResource(state: State, pointer: Pointer, options: WaitOptions = {}): Promise<void> {
  await waitUntil(state, pointer, () => {
    if (state.find(pointer)) throw new Error(`${pointer.namespace}/${pointer.type}/${pointer.id} still exists`);
  }, options.timeoutMs ?? 5000);
}

async function waitUntil<T>(state: State, kind: Kind, evaluate: () => T, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wake: (() => void) | undefined;
  const unsubscribe = state.subscribe(kind, () => wake?.());
  try {
    for (;;) {
      try {
        return evaluate();
      } catch (err) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`assertion not met within ${timeoutMs} ms: ${(err as Error).message}`, { cause: err });
        await new Promise<void>((resolve) => {
          const t = setTimeout(resolve, Math.min(left, 50));
          wake = () => {
            clearTimeout(t);
            resolve();
          };
        });
        wake = undefined;
      }
    }
  } finally {
    unsubscribe();
  }
}
