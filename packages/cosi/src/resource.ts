import { Code, TalosError } from './errors.ts';

/** Lifecycle phase of a resource: `tearingDown` waits for finalizers before destruction. */
export type Phase = 'running' | 'tearingDown';

/** Points at one resource: its identity. */
export interface Pointer {
  readonly namespace: string;
  readonly type: string;
  readonly id: string;
}

/** Points at every resource of one type in one namespace. */
export interface Kind {
  readonly namespace: string;
  readonly type: string;
}

/** Plain-data labels or annotations. */
export type StringMap = Readonly<Record<string, string>>;

/** Resource metadata. Times are Unix milliseconds so stored metadata can be frozen whole. */
export interface Metadata extends Pointer {
  readonly version: number;
  readonly owner: string;
  readonly phase: Phase;
  readonly finalizers: readonly string[];
  readonly labels: StringMap;
  readonly annotations: StringMap;
  readonly created: number;
  readonly updated: number;
}

/** A resource: metadata plus a plain-data spec. Resources handed out by a state are deeply frozen. */
export interface Resource<S = unknown> {
  readonly metadata: Metadata;
  readonly spec: S;
}

/** Options of {@link newResource}. */
export interface NewResourceOptions {
  readonly labels?: StringMap;
  readonly annotations?: StringMap;
}

/** Builds an unsaved resource (version 0). The state assigns version, owner and times on create. */
export function newResource<S>(kind: Kind, id: string, spec: S, options: NewResourceOptions = {}): Resource<S> {
  return {
    metadata: {
      namespace: kind.namespace,
      type: kind.type,
      id,
      version: 0,
      owner: '',
      phase: 'running',
      finalizers: [],
      labels: options.labels ?? {},
      annotations: options.annotations ?? {},
      created: 0,
      updated: 0,
    },
    spec,
  };
}

/** The same resource with another spec, ready to pass to `update`. */
export function withSpec<S>(resource: Resource<S>, spec: S): Resource<S> {
  return { metadata: resource.metadata, spec };
}

/** Identity of a resource as one string, for maps and messages. */
export function pointerKey(p: Pointer): string {
  return `${p.namespace}/${p.type}/${p.id}`;
}

/**
 * Deep-copies plain data and freezes the copy. Specs are JSON-like by contract: anything else
 * (class instances, functions, typed arrays) is rejected because a frozen copy could not be
 * guaranteed immutable or serialisable over the API.
 */
export function freezeCopy<T>(value: T, path = 'spec'): T {
  return copy(value, path, 0) as T;
}

const maxDepth = 100;

function copy(value: unknown, path: string, depth: number): unknown {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint') {
      throw new TalosError(Code.InvalidArgument, `${path}: ${typeof value} is not plain data`);
    }
    return value;
  }
  if (depth > maxDepth) throw new TalosError(Code.InvalidArgument, `${path}: nested deeper than ${maxDepth}`);
  if (Object.isFrozen(value) && frozenPlain.has(value)) return value;
  let out: unknown;
  if (Array.isArray(value)) {
    const arr = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i++) arr[i] = copy(value[i], `${path}[${i}]`, depth + 1);
    out = arr;
  } else {
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      throw new TalosError(Code.InvalidArgument, `${path}: ${(value as object).constructor?.name ?? 'object'} is not plain data`);
    }
    const obj: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const v = (value as Record<string, unknown>)[key];
      if (v === undefined) continue;
      obj[key] = copy(v, `${path}.${key}`, depth + 1);
    }
    out = obj;
  }
  Object.freeze(out);
  frozenPlain.add(out as object);
  return out;
}

// Values this module froze itself: safe to share instead of copying again.
const frozenPlain = new WeakSet<object>();

/** Structural equality of plain data (what `modify` uses to skip no-op writes). */
export function plainEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!plainEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  if (ka.length !== kb.length) return false;
  for (const k of ka) {
    if (!plainEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k])) return false;
  }
  return true;
}

/** A mutable deep copy of plain data, for drafts handed to `modify` callbacks. */
export function thaw<T>(value: T): T {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v: unknown) => thaw(v)) as T;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = thaw(v);
  return out as T;
}
