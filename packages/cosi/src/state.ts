import { Code, TalosError } from './errors.ts';
import { matchesLabels, type LabelQuery } from './labels.ts';
import {
  freezeCopy,
  plainEqual,
  thaw,
  type Kind,
  type Metadata,
  type Phase,
  type Pointer,
  type Resource,
} from './resource.ts';
import { alreadyExistsError, conflictError, notFoundError } from './state-errors.ts';
import { Watch, defaultWatchBufferSize, type WatchEvent } from './watch.ts';

/** Who writes: a controller's name, or '' for the API and users. Only the owner may change a resource. */
export interface WriteOptions {
  readonly owner?: string;
}

/** Options of `update`: the phase the caller expects the stored resource to be in. */
export interface UpdateOptions extends WriteOptions {
  readonly expectedPhase?: Phase | 'any';
}

/**
 * Decides whether a resource id is selected. A RegExp fits, but patterns from API clients must come
 * from a linear-time engine: the state calls `test` on every id, on the caller's event loop.
 */
export interface IdMatcher {
  test(id: string): boolean;
}

/** Filters for list and watch. */
export interface QueryOptions {
  readonly labelQuery?: LabelQuery;
  /** Matches against the resource id (an unanchored search, like Go's MatchString). */
  readonly idQuery?: IdMatcher;
}

/** Options of a watch. `bootstrapContents` and `tailEvents` are mutually exclusive. */
export interface WatchOptions extends QueryOptions {
  readonly signal?: AbortSignal;
  /** Send every current resource as CREATED, then one BOOTSTRAPPED. */
  readonly bootstrapContents?: boolean;
  /** Replay up to this many past events from the history before live ones. */
  readonly tailEvents?: number;
  /** Undelivered live events allowed before the watch ends with ERRORED. */
  readonly bufferSize?: number;
}

/** A mutable copy of a resource's spec, labels and annotations, handed to `modify` callbacks. */
export interface Draft<S> {
  spec: S;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Options of `modify`: `initial` creates the resource when it does not exist. */
export interface ModifyOptions<S> extends WriteOptions {
  readonly initial?: S;
}

/** A synchronous change listener (the controller runtime's wake-up path). Must not throw. */
export type ChangeListener = (event: WatchEvent) => void;

/** The resource store every component reads and writes. */
export interface State {
  get<S = unknown>(pointer: Pointer): Resource<S>;
  /** Like get, but undefined instead of a not-found error. */
  find<S = unknown>(pointer: Pointer): Resource<S> | undefined;
  list<S = unknown>(kind: Kind, options?: QueryOptions): readonly Resource<S>[];
  create<S>(resource: Resource<S>, options?: WriteOptions): Resource<S>;
  /** Optimistic update: `resource.metadata.version` must equal the stored version. */
  update<S>(resource: Resource<S>, options?: UpdateOptions): Resource<S>;
  /** Reads, lets `fn` change a draft, and writes only when something changed. */
  modify<S>(pointer: Pointer, fn: (draft: Draft<S>) => void, options?: ModifyOptions<S>): Resource<S>;
  /** Moves the resource to `tearingDown`; true when no finalizers remain (it may be destroyed). */
  teardown(pointer: Pointer, options?: WriteOptions): boolean;
  /** Removes the resource; refused while finalizers remain. */
  destroy(pointer: Pointer, options?: WriteOptions): void;
  addFinalizer(pointer: Pointer, ...finalizers: string[]): void;
  removeFinalizer(pointer: Pointer, ...finalizers: string[]): void;
  watch(pointer: Pointer, options?: WatchOptions): Watch;
  watchKind(kind: Kind, options?: WatchOptions): Watch;
  /** Calls listener synchronously after each write to the kind; returns the unsubscribe function. */
  subscribe(kind: Kind, listener: ChangeListener): () => void;
}

/** Options of {@link InMemoryState}. */
export interface InMemoryStateOptions {
  /** Past events kept per kind for `tailEvents`. */
  readonly historyCapacity?: number;
  readonly now?: () => number;
}

interface Subscriber {
  readonly id?: string;
  readonly query: QueryOptions;
  readonly watch: Watch;
}

class Collection {
  readonly items = new Map<string, Resource>();
  readonly watchers = new Set<Subscriber>();
  readonly listeners = new Set<ChangeListener>();
  readonly history: (WatchEvent | undefined)[];
  historyNext = 0;
  historyCount = 0;

  constructor(readonly capacity: number) {
    this.history = new Array<WatchEvent | undefined>(capacity);
  }

  record(event: WatchEvent): void {
    if (this.capacity > 0) {
      this.history[this.historyNext] = event;
      this.historyNext = (this.historyNext + 1) % this.capacity;
      if (this.historyCount < this.capacity) this.historyCount++;
    }
    for (const l of this.listeners) l(event);
    for (const s of this.watchers) deliver(s, event);
  }

  tail(n: number): WatchEvent[] {
    const count = Math.min(n, this.historyCount);
    const out: WatchEvent[] = [];
    for (let i = count; i > 0; i--) {
      const idx = (this.historyNext - i + this.capacity) % this.capacity;
      const e = this.history[idx];
      if (e) out.push(e);
    }
    return out;
  }
}

function matches(s: { id?: string; query: QueryOptions }, r: Resource): boolean {
  if (s.id !== undefined && r.metadata.id !== s.id) return false;
  if (s.query.idQuery && !s.query.idQuery.test(r.metadata.id)) return false;
  return matchesLabels(r.metadata.labels, s.query.labelQuery);
}

// A watcher filtering by labels sees a resource that stops matching as destroyed, and one that
// starts matching as created, so its view is always the filtered set.
function filtered(s: { id?: string; query: QueryOptions }, event: WatchEvent): WatchEvent | undefined {
  const r = event.resource as Resource;
  const now = matches(s, r);
  if (event.type !== 'updated') return now ? event : undefined;
  const before = event.old !== undefined && matches(s, event.old);
  if (now && before) return event;
  if (now) return { type: 'created', resource: r };
  if (before) return { type: 'destroyed', resource: event.old as Resource };
  return undefined;
}

function deliver(s: Subscriber, event: WatchEvent): void {
  const e = filtered(s, event);
  if (e) s.watch.push(e);
}

/** The in-memory state: namespaced collections, optimistic versions, owners, phases and finalizers. */
export class InMemoryState implements State {
  readonly #collections = new Map<string, Collection>();
  readonly #capacity: number;
  readonly #now: () => number;

  constructor(options: InMemoryStateOptions = {}) {
    this.#capacity = options.historyCapacity ?? 1024;
    this.#now = options.now ?? Date.now;
  }

  #collection(kind: Kind): Collection {
    const key = `${kind.namespace}\u0000${kind.type}`;
    let c = this.#collections.get(key);
    if (!c) {
      c = new Collection(this.#capacity);
      this.#collections.set(key, c);
    }
    return c;
  }

  #stored(p: Pointer): { c: Collection; r: Resource } {
    const c = this.#collection(p);
    const r = c.items.get(p.id);
    if (!r) throw notFoundError(p);
    return { c, r };
  }

  #store(c: Collection, next: Resource, old: Resource | undefined): Resource {
    c.items.set(next.metadata.id, next);
    c.record(old ? { type: 'updated', resource: next, old } : { type: 'created', resource: next });
    return next;
  }

  #bump(old: Resource, change: Partial<Metadata>, spec: unknown = old.spec): Resource {
    const metadata: Metadata = Object.freeze({
      ...old.metadata,
      ...change,
      version: old.metadata.version + 1,
      updated: this.#now(),
    });
    return Object.freeze({ metadata, spec });
  }

  get<S = unknown>(pointer: Pointer): Resource<S> {
    return this.#stored(pointer).r as Resource<S>;
  }

  find<S = unknown>(pointer: Pointer): Resource<S> | undefined {
    return this.#collection(pointer).items.get(pointer.id) as Resource<S> | undefined;
  }

  list<S = unknown>(kind: Kind, options: QueryOptions = {}): readonly Resource<S>[] {
    const c = this.#collection(kind);
    const out: Resource<S>[] = [];
    const probe = { query: options };
    for (const r of c.items.values()) if (matches(probe, r)) out.push(r as Resource<S>);
    out.sort((a, b) => (a.metadata.id < b.metadata.id ? -1 : a.metadata.id > b.metadata.id ? 1 : 0));
    return out;
  }

  create<S>(resource: Resource<S>, options: WriteOptions = {}): Resource<S> {
    const m = resource.metadata;
    validatePointer(m);
    const c = this.#collection(m);
    if (c.items.has(m.id)) throw alreadyExistsError(m);
    const now = this.#now();
    const metadata: Metadata = Object.freeze({
      namespace: m.namespace,
      type: m.type,
      id: m.id,
      version: 1,
      owner: options.owner ?? '',
      phase: 'running',
      finalizers: Object.freeze([...m.finalizers]),
      labels: freezeCopy(m.labels, 'metadata.labels'),
      annotations: freezeCopy(m.annotations, 'metadata.annotations'),
      created: now,
      updated: now,
    });
    const stored = Object.freeze({ metadata, spec: freezeCopy(resource.spec) });
    return this.#store(c, stored, undefined) as Resource<S>;
  }

  update<S>(resource: Resource<S>, options: UpdateOptions = {}): Resource<S> {
    const m = resource.metadata;
    const { c, r: old } = this.#stored(m);
    const owner = options.owner ?? '';
    if (old.metadata.owner !== owner) {
      throw conflictError(m, 'owner', `owned by "${old.metadata.owner}", written by "${owner}"`);
    }
    if (old.metadata.version !== m.version) {
      throw conflictError(m, 'version', `expected version ${m.version}, stored ${old.metadata.version}`);
    }
    const expected = options.expectedPhase ?? 'running';
    if (expected !== 'any' && old.metadata.phase !== expected) {
      throw conflictError(m, 'phase', `expected phase ${expected}, stored ${old.metadata.phase}`);
    }
    const next = this.#bump(
      old,
      {
        labels: freezeCopy(m.labels, 'metadata.labels'),
        annotations: freezeCopy(m.annotations, 'metadata.annotations'),
      },
      freezeCopy(resource.spec),
    );
    return this.#store(c, next, old) as Resource<S>;
  }

  modify<S>(pointer: Pointer, fn: (draft: Draft<S>) => void, options: ModifyOptions<S> = {}): Resource<S> {
    const c = this.#collection(pointer);
    const old = c.items.get(pointer.id) as Resource<S> | undefined;
    if (!old) {
      if (!('initial' in options)) throw notFoundError(pointer);
      const draft: Draft<S> = { spec: thaw(options.initial as S), labels: {}, annotations: {} };
      fn(draft);
      return this.create(
        {
          metadata: {
            ...pointer,
            version: 0,
            owner: '',
            phase: 'running',
            finalizers: [],
            labels: draft.labels,
            annotations: draft.annotations,
            created: 0,
            updated: 0,
          },
          spec: draft.spec,
        },
        options,
      );
    }
    const owner = options.owner ?? '';
    if (old.metadata.owner !== owner) {
      throw conflictError(pointer, 'owner', `owned by "${old.metadata.owner}", written by "${owner}"`);
    }
    if (old.metadata.phase !== 'running') {
      throw conflictError(pointer, 'phase', `expected phase running, stored ${old.metadata.phase}`);
    }
    const draft: Draft<S> = {
      spec: thaw(old.spec),
      labels: { ...old.metadata.labels },
      annotations: { ...old.metadata.annotations },
    };
    fn(draft);
    if (
      plainEqual(draft.spec, old.spec) &&
      plainEqual(draft.labels, old.metadata.labels) &&
      plainEqual(draft.annotations, old.metadata.annotations)
    ) {
      return old;
    }
    const next = this.#bump(
      old as Resource,
      { labels: freezeCopy(draft.labels, 'metadata.labels'), annotations: freezeCopy(draft.annotations, 'metadata.annotations') },
      freezeCopy(draft.spec),
    );
    return this.#store(c, next, old as Resource) as Resource<S>;
  }

  teardown(pointer: Pointer, options: WriteOptions = {}): boolean {
    const { c, r: old } = this.#stored(pointer);
    const owner = options.owner ?? '';
    if (old.metadata.owner !== owner) {
      throw conflictError(pointer, 'owner', `owned by "${old.metadata.owner}", torn down by "${owner}"`);
    }
    if (old.metadata.phase === 'running') this.#store(c, this.#bump(old, { phase: 'tearingDown' }), old);
    return old.metadata.finalizers.length === 0;
  }

  destroy(pointer: Pointer, options: WriteOptions = {}): void {
    const { c, r: old } = this.#stored(pointer);
    const owner = options.owner ?? '';
    if (old.metadata.owner !== owner) {
      throw conflictError(pointer, 'owner', `owned by "${old.metadata.owner}", destroyed by "${owner}"`);
    }
    if (old.metadata.finalizers.length > 0) {
      throw conflictError(pointer, 'finalizers', `finalizers remain: ${old.metadata.finalizers.join(', ')}`);
    }
    c.items.delete(pointer.id);
    c.record({ type: 'destroyed', resource: old });
  }

  addFinalizer(pointer: Pointer, ...finalizers: string[]): void {
    const { c, r: old } = this.#stored(pointer);
    const missing = finalizers.filter((f, i) => !old.metadata.finalizers.includes(f) && finalizers.indexOf(f) === i);
    if (missing.length === 0) return;
    if (old.metadata.phase !== 'running') {
      throw conflictError(pointer, 'phase', 'finalizers cannot be added while tearing down');
    }
    this.#store(c, this.#bump(old, { finalizers: Object.freeze([...old.metadata.finalizers, ...missing]) }), old);
  }

  removeFinalizer(pointer: Pointer, ...finalizers: string[]): void {
    const { c, r: old } = this.#stored(pointer);
    const kept = old.metadata.finalizers.filter((f) => !finalizers.includes(f));
    if (kept.length === old.metadata.finalizers.length) return;
    this.#store(c, this.#bump(old, { finalizers: Object.freeze(kept) }), old);
  }

  watch(pointer: Pointer, options: WatchOptions = {}): Watch {
    return this.#watch(pointer, pointer.id, options);
  }

  watchKind(kind: Kind, options: WatchOptions = {}): Watch {
    return this.#watch(kind, undefined, options);
  }

  #watch(kind: Kind, id: string | undefined, options: WatchOptions): Watch {
    if (options.bootstrapContents && options.tailEvents !== undefined) {
      throw new TalosError(Code.InvalidArgument, 'bootstrapContents and tailEvents cannot be combined');
    }
    if (options.tailEvents !== undefined && (!Number.isInteger(options.tailEvents) || options.tailEvents < 0)) {
      throw new TalosError(Code.InvalidArgument, `tailEvents must be a non-negative integer, got ${options.tailEvents}`);
    }
    const c = this.#collection(kind);
    const query: QueryOptions = {
      ...(options.labelQuery ? { labelQuery: options.labelQuery } : {}),
      ...(options.idQuery ? { idQuery: options.idQuery } : {}),
    };
    const signal = options.signal;
    const onAbort = (): void => watch.close();
    const watch = new Watch({
      bufferSize: options.bufferSize ?? defaultWatchBufferSize,
      onClose: () => {
        c.watchers.delete(sub);
        signal?.removeEventListener('abort', onAbort);
      },
    });
    const sub: Subscriber = id === undefined ? { query, watch } : { id, query, watch };
    const initial: WatchEvent[] = [];
    if (options.bootstrapContents) {
      const probe = sub;
      for (const r of c.items.values()) if (matches(probe, r)) initial.push({ type: 'created', resource: r });
      initial.sort((a, b) => ((a.resource?.metadata.id ?? '') < (b.resource?.metadata.id ?? '') ? -1 : 1));
      initial.push({ type: 'bootstrapped' });
    } else if (options.tailEvents) {
      for (const e of c.tail(c.capacity)) {
        const f = filtered(sub, e);
        if (f) initial.push(f);
      }
      initial.splice(0, Math.max(0, initial.length - options.tailEvents));
    }
    watch.preload(initial);
    if (signal?.aborted) {
      watch.close();
      return watch;
    }
    c.watchers.add(sub);
    signal?.addEventListener('abort', onAbort, { once: true });
    return watch;
  }

  subscribe(kind: Kind, listener: ChangeListener): () => void {
    const c = this.#collection(kind);
    c.listeners.add(listener);
    return () => void c.listeners.delete(listener);
  }
}

function validatePointer(p: Pointer): void {
  for (const field of ['namespace', 'type', 'id'] as const) {
    if (typeof p[field] !== 'string' || p[field] === '') {
      throw new TalosError(Code.InvalidArgument, `metadata.${field} must be a non-empty string`);
    }
  }
}
