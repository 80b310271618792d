// RFC 6902 JSON Patch over plain values, with RFC 6901 JSON Pointers. Operations apply to a copy;
// the first failing operation aborts the whole patch.
import { quoteAny, quoteValue } from './errors.ts';
import { setKey } from './walk.ts';

/** One RFC 6902 operation. */
export type JsonPatchOperation =
  | { op: 'add' | 'replace' | 'test'; path: string; value: unknown }
  | { op: 'remove'; path: string }
  | { op: 'move' | 'copy'; from: string; path: string };

/** A JSON patch that cannot be applied: which operation and why. */
export class JsonPatchError extends Error {
  constructor(
    readonly index: number,
    readonly pointer: string,
    readonly reason: string,
  ) {
    super(`operation ${index} at ${quoteValue(pointer)}: ${reason}`);
    this.name = 'JsonPatchError';
  }
}

const ops = new Set(['add', 'remove', 'replace', 'move', 'copy', 'test']);

/** Checks that `raw` is a list of well-formed operations. */
export function parseJsonPatch(raw: unknown): { value: JsonPatchOperation[] } | { error: JsonPatchError } {
  if (!Array.isArray(raw)) return { error: new JsonPatchError(0, '', 'a JSON patch is a list of operations') };
  const out: JsonPatchOperation[] = [];
  for (const [i, o] of raw.entries()) {
    if (o === null || typeof o !== 'object' || Array.isArray(o)) return { error: new JsonPatchError(i, '', 'an operation must be a map') };
    const r = o as Record<string, unknown>;
    const op = r['op'];
    const path = r['path'];
    if (typeof op !== 'string' || !ops.has(op)) return { error: new JsonPatchError(i, typeof path === 'string' ? path : '', `unknown op ${quoteAny(op)}`) };
    if (typeof path !== 'string') return { error: new JsonPatchError(i, '', 'path must be a string') };
    const parsed = parsePointer(path);
    if (parsed === null) return { error: new JsonPatchError(i, path, 'invalid JSON pointer') };
    if (op === 'move' || op === 'copy') {
      const from = r['from'];
      if (typeof from !== 'string' || parsePointer(from) === null) return { error: new JsonPatchError(i, path, 'from must be a JSON pointer') };
      out.push({ op, from, path });
    } else if (op === 'remove') {
      out.push({ op, path });
    } else {
      if (!('value' in r)) return { error: new JsonPatchError(i, path, `${op} needs a value`) };
      out.push({ op: op as 'add' | 'replace' | 'test', path, value: r['value'] });
    }
  }
  return { value: out };
}

/** Splits a JSON pointer into reference tokens; null when malformed. */
export function parsePointer(pointer: string): string[] | null {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return null;
  const tokens = pointer.slice(1).split('/');
  if (tokens.some((t) => /~[^01]|~$/.test(t))) return null;
  return tokens.map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

type Container = Record<string, unknown> | unknown[];

function isContainer(v: unknown): v is Container {
  return v !== null && typeof v === 'object';
}

function arrayIndex(token: string, length: number, allowEnd: boolean): number | null {
  if (allowEnd && token === '-') return length;
  if (!/^(0|[1-9]\d*)$/.test(token)) return null;
  const i = Number(token);
  return i <= (allowEnd ? length : length - 1) ? i : null;
}

function resolveParent(doc: unknown, tokens: string[], idx: number, pointer: string): { parent: Container; key: string } {
  let cur = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) {
      const i = arrayIndex(t, cur.length, false);
      if (i === null) throw new JsonPatchError(idx, pointer, `no list item ${quoteValue(t)}`);
      cur = cur[i];
    } else if (isContainer(cur) && Object.hasOwn(cur, t)) {
      cur = (cur as Record<string, unknown>)[t];
    } else {
      throw new JsonPatchError(idx, pointer, `path not found (no ${quoteValue(t)})`);
    }
  }
  if (!isContainer(cur)) throw new JsonPatchError(idx, pointer, 'parent is not a map or list');
  return { parent: cur, key: tokens[tokens.length - 1] ?? '' };
}

function getAt(doc: unknown, pointer: string, idx: number): unknown {
  const tokens = parsePointer(pointer) ?? [];
  if (tokens.length === 0) return doc;
  const { parent, key } = resolveParent(doc, tokens, idx, pointer);
  if (Array.isArray(parent)) {
    const i = arrayIndex(key, parent.length, false);
    if (i === null) throw new JsonPatchError(idx, pointer, `no list item ${quoteValue(key)}`);
    return parent[i];
  }
  if (!Object.hasOwn(parent, key)) throw new JsonPatchError(idx, pointer, 'path not found');
  return parent[key];
}

function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(sortKeys(a)) === JSON.stringify(sortKeys(b));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (isContainer(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Applies operations to a copy of `doc`; throws JsonPatchError on the first failing one. */
export function applyJsonPatch(doc: unknown, operations: readonly JsonPatchOperation[]): unknown {
  let root: unknown = structuredClone(doc);
  const put = (pointer: string, value: unknown, idx: number, mode: 'add' | 'replace'): void => {
    const tokens = parsePointer(pointer) ?? [];
    if (tokens.length === 0) {
      root = value;
      return;
    }
    const { parent, key } = resolveParent(root, tokens, idx, pointer);
    if (Array.isArray(parent)) {
      const i = arrayIndex(key, parent.length, mode === 'add');
      if (i === null) throw new JsonPatchError(idx, pointer, `list index ${quoteValue(key)} out of range`);
      if (mode === 'add') parent.splice(i, 0, value);
      else parent[i] = value;
    } else {
      if (mode === 'replace' && !Object.hasOwn(parent, key)) throw new JsonPatchError(idx, pointer, 'path not found');
      setKey(parent, key, value);
    }
  };
  const remove = (pointer: string, idx: number): unknown => {
    const tokens = parsePointer(pointer) ?? [];
    if (tokens.length === 0) throw new JsonPatchError(idx, pointer, 'cannot remove the whole document');
    const { parent, key } = resolveParent(root, tokens, idx, pointer);
    if (Array.isArray(parent)) {
      const i = arrayIndex(key, parent.length, false);
      if (i === null) throw new JsonPatchError(idx, pointer, `list index ${quoteValue(key)} out of range`);
      return parent.splice(i, 1)[0];
    }
    if (!Object.hasOwn(parent, key)) throw new JsonPatchError(idx, pointer, 'path not found');
    const old = parent[key];
    delete parent[key];
    return old;
  };
  operations.forEach((o, idx) => {
    switch (o.op) {
      case 'add':
        put(o.path, structuredClone(o.value), idx, 'add');
        break;
      case 'replace':
        put(o.path, structuredClone(o.value), idx, 'replace');
        break;
      case 'remove':
        remove(o.path, idx);
        break;
      case 'test':
        if (!deepEqual(getAt(root, o.path, idx), o.value)) throw new JsonPatchError(idx, o.path, 'test failed: value differs');
        break;
      case 'move': {
        if (o.path.startsWith(`${o.from}/`)) throw new JsonPatchError(idx, o.path, 'cannot move a value into itself');
        const v = remove(o.from, idx);
        put(o.path, v, idx, 'add');
        break;
      }
      case 'copy':
        put(o.path, structuredClone(getAt(root, o.from, idx)), idx, 'add');
        break;
    }
  });
  return root;
}
