// Checks a YAML node tree against a descriptor and builds the typed value. Walking the YAML nodes
// (not a plain object) keeps source offsets, so every problem points at a line and column.
import { isAlias, isMap, isScalar, isSeq, type Document, type Node as YamlNode } from 'yaml';
import { MAX_QUOTED_CHARS, clipText, quoteValue } from './errors.ts';
import { checkFormat } from './formats.ts';
import { childPath, indexPath, nearestKey } from './path.ts';
import { fieldOf, type Node } from './schema.ts';

/** Limits that keep hostile input bounded. */
export const WALK_LIMITS = {
  /** Deepest nesting of collections accepted. */
  maxDepth: 64,
  /** Nodes visited per document, counting every alias expansion. */
  maxNodes: 500_000,
  /** Alias dereferences per document. */
  maxAliases: 1_000,
} as const;

/** A problem found while walking: the node it is about, its path and the reason. */
export class WalkFailure {
  readonly offset: number | undefined;
  constructor(
    node: unknown,
    readonly path: string,
    readonly reason: string,
  ) {
    this.offset = offsetOf(node);
  }

  /** The same failure under another path. */
  withPath(path: string): WalkFailure {
    const f = new WalkFailure(null, path, this.reason);
    (f as { offset: number | undefined }).offset = this.offset;
    return f;
  }
}

function offsetOf(node: unknown): number | undefined {
  if (node !== null && typeof node === 'object' && 'range' in node) {
    const r = (node as { range?: [number, number, number] | null }).range;
    if (r) return r[0];
  }
  return undefined;
}

/** Walk state of one document. */
export interface WalkState {
  readonly doc: Document;
  nodes: number;
  aliases: number;
}

/** Creates the state for walking one document. */
export function walkState(doc: Document): WalkState {
  return { doc, nodes: 0, aliases: 0 };
}

function describe(node: unknown): string {
  if (node == null) return 'null';
  if (isScalar(node)) {
    const v = node.value;
    if (v === null) return 'null';
    if (typeof v === 'string') return quoteValue(v);
    if (typeof v === 'number' || typeof v === 'boolean') return clipText(typeof node.source === 'string' ? node.source : String(v), MAX_QUOTED_CHARS);
    return clipText(String(v), MAX_QUOTED_CHARS);
  }
  if (isSeq(node)) return 'a list';
  if (isMap(node)) return 'a map';
  return 'an unsupported node';
}

function enter(st: WalkState, node: unknown, path: string, depth: number): unknown {
  if (depth > WALK_LIMITS.maxDepth) throw new WalkFailure(node, path, `nesting deeper than ${WALK_LIMITS.maxDepth} levels`);
  if (++st.nodes > WALK_LIMITS.maxNodes) throw new WalkFailure(node, path, `more than ${WALK_LIMITS.maxNodes} nodes (alias expansion?)`);
  let n = node;
  while (isAlias(n)) {
    if (++st.aliases > WALK_LIMITS.maxAliases) throw new WalkFailure(n, path, `more than ${WALK_LIMITS.maxAliases} alias references`);
    const target: unknown = n.resolve(st.doc);
    if (target === undefined) throw new WalkFailure(n, path, `unresolved alias *${n.source}`);
    n = target;
  }
  return n;
}

/** True for a missing value or an explicit null, both of which mean "unset". */
export function isNullNode(node: unknown): boolean {
  return node == null || (isScalar(node) && node.value === null);
}

const trueWords = new Set(['true', 'True', 'TRUE', 'yes', 'Yes', 'YES', 'on', 'On', 'ON']);
const falseWords = new Set(['false', 'False', 'FALSE', 'no', 'No', 'NO', 'off', 'Off', 'OFF']);

/** The string a scalar stands for in a string field: Go's yaml takes any scalar's source text. */
export function scalarString(node: YamlNode): string | undefined {
  if (!isScalar(node) || node.value === null) return undefined;
  const v = node.value;
  if (typeof v === 'string') return v;
  if (typeof node.source === 'string' && node.type === 'PLAIN') return node.source;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return undefined;
}

/** The boolean a scalar stands for, accepting yes/no/on/off as upstream does. */
export function scalarBoolean(node: YamlNode): boolean | undefined {
  if (!isScalar(node)) return undefined;
  if (typeof node.value === 'boolean') return node.value;
  if (typeof node.value === 'string' && node.type === 'PLAIN') {
    if (trueWords.has(node.value)) return true;
    if (falseWords.has(node.value)) return false;
  }
  return undefined;
}

/** Checks `node` against `d` and returns its typed value; throws WalkFailure on the first problem. */
export function walk(st: WalkState, raw: unknown, d: Node, path: string, depth: number): unknown {
  const node = enter(st, raw, path, depth);
  switch (d.kind) {
    case 'any':
      return plain(st, node, path, depth);
    case 'string': {
      const s = isScalar(node) ? scalarString(node) : undefined;
      if (s === undefined) throw new WalkFailure(node, path, `expected a string, got ${describe(node)}`);
      if (d.enum && !d.enum.includes(s)) {
        throw new WalkFailure(node, path, `expected one of ${d.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${quoteValue(s)}`);
      }
      if (d.format) {
        const why = checkFormat(d.format, s);
        if (why) throw new WalkFailure(node, path, why);
      }
      return s;
    }
    case 'integer': {
      const v = isScalar(node) ? node.value : undefined;
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new WalkFailure(node, path, `expected an integer, got ${describe(node)}`);
      if (d.min !== undefined && n < d.min) throw new WalkFailure(node, path, `must be at least ${d.min}, got ${n}`);
      if (d.max !== undefined && n > d.max) throw new WalkFailure(node, path, `must be at most ${d.max}, got ${n}`);
      return n;
    }
    case 'boolean': {
      const b = isScalar(node) ? scalarBoolean(node) : undefined;
      if (b === undefined) throw new WalkFailure(node, path, `expected a boolean, got ${describe(node)}`);
      return b;
    }
    case 'list': {
      if (!isSeq(node)) throw new WalkFailure(node, path, `expected a list, got ${describe(node)}`);
      return node.items.map((item, i) => walk(st, item, d.item, indexPath(path, i), depth + 1));
    }
    case 'map': {
      if (!isMap(node)) throw new WalkFailure(node, path, `expected a map, got ${describe(node)}`);
      const out: Record<string, unknown> = {};
      for (const pair of node.items) {
        const key = mapKey(st, pair.key, path, depth);
        const p = childPath(path, key);
        if (isNullNode(pair.value) && d.value.kind !== 'string') continue;
        setKey(out, key, isNullNode(pair.value) ? '' : walk(st, pair.value, d.value, p, depth + 1));
      }
      return out;
    }
    case 'object': {
      if (!isMap(node)) throw new WalkFailure(node, path, `expected a map, got ${describe(node)}`);
      const out: Record<string, unknown> = {};
      const known = Object.keys(d.fields);
      for (const pair of node.items) {
        const key = mapKey(st, pair.key, path, depth);
        const p = childPath(path, key);
        const field = fieldOf(d, key);
        if (!field) {
          const near = nearestKey(key, known);
          throw new WalkFailure(pair.key, p, `unknown field ${quoteValue(key)}${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}`);
        }
        if (isNullNode(pair.value)) continue;
        out[key] = walk(st, pair.value, field.node, p, depth + 1);
      }
      for (const [key, field] of Object.entries(d.fields)) {
        if (field.required && !Object.hasOwn(out, key)) throw new WalkFailure(node, childPath(path, key), `missing required field ${JSON.stringify(key)}`);
      }
      return out;
    }
  }
}

function mapKey(st: WalkState, raw: unknown, path: string, depth: number): string {
  const k = enter(st, raw, path, depth + 1);
  const s = isScalar(k) ? scalarString(k) : undefined;
  if (s === undefined) throw new WalkFailure(k ?? raw, path, `map keys must be strings, got ${describe(k)}`);
  return s;
}

/** Converts unstructured YAML to plain data within the same limits. */
export function plain(st: WalkState, raw: unknown, path: string, depth: number): unknown {
  const node = enter(st, raw, path, depth);
  if (node == null) return null;
  if (isScalar(node)) {
    const v = node.value;
    return typeof v === 'bigint' ? Number(v) : v;
  }
  if (isSeq(node)) return node.items.map((it, i) => plain(st, it, indexPath(path, i), depth + 1));
  if (isMap(node)) {
    const out: Record<string, unknown> = {};
    for (const pair of node.items) {
      const key = mapKey(st, pair.key, path, depth);
      setKey(out, key, plain(st, pair.value, childPath(path, key), depth + 1));
    }
    return out;
  }
  throw new WalkFailure(node, path, `unsupported YAML node ${describe(node)}`);
}

/** Sets an own property even for keys like __proto__, so YAML input cannot reach prototypes. */
export function setKey(o: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}
