// Strategic merge of plain config values, guided by the descriptor table: maps merge recursively,
// lists append unless the field is replace-on-merge or its items carry merge keys (interfaces by
// interface/deviceSelector, vlans by vlanId), and `$patch: delete` removes a key or list item.
import { quoteAny } from './errors.ts';
import { childPath, indexPath } from './path.ts';
import { fieldOf, type Node } from './schema.ts';
import { setKey } from './walk.ts';

/** The directive key of a strategic merge patch. */
export const PATCH_DIRECTIVE = '$patch';

/** A patch that cannot be applied; `path` is where in the patch document it went wrong. */
export class MergeError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'MergeError';
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** True when a patch value asks for deletion. */
export function isDeleteDirective(v: unknown, path: string): boolean {
  if (!isPlainObject(v) || !Object.hasOwn(v, PATCH_DIRECTIVE)) return false;
  if (v[PATCH_DIRECTIVE] !== 'delete') throw new MergeError(childPath(path, PATCH_DIRECTIVE), `unsupported directive ${quoteAny(v[PATCH_DIRECTIVE])} (only "delete")`);
  return true;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => deepEqual(x, b[i]));
  if (isPlainObject(a) && isPlainObject(b)) {
    const ka = Object.keys(a).filter((k) => k !== PATCH_DIRECTIVE);
    const kb = Object.keys(b).filter((k) => k !== PATCH_DIRECTIVE);
    return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

function findByKeys(items: unknown[], probe: Record<string, unknown>, keys: readonly string[]): number {
  for (const key of keys) {
    const want = Object.hasOwn(probe, key) ? probe[key] : undefined;
    if (want === undefined) continue;
    return items.findIndex((it) => isPlainObject(it) && Object.hasOwn(it, key) && deepEqual(it[key], want));
  }
  return -1;
}

/** Merges `patch` into `target` (neither is modified) and returns the result. */
export function mergeValue(target: unknown, patch: unknown, d: Node | undefined, path: string): unknown {
  if (patch === null || patch === undefined) return target;
  if (isPlainObject(patch)) {
    if (!isPlainObject(target)) {
      if (Object.hasOwn(patch, PATCH_DIRECTIVE)) return undefined;
      return stripDirectives(patch, path);
    }
    const out: Record<string, unknown> = { ...target };
    for (const [key, pv] of Object.entries(patch)) {
      const p = childPath(path, key);
      if (key === PATCH_DIRECTIVE) throw new MergeError(p, 'a $patch directive is only valid inside a field being deleted');
      if (isDeleteDirective(pv, p)) {
        delete out[key];
        continue;
      }
      const fd = d?.kind === 'object' ? fieldOf(d, key) : undefined;
      const childD = d?.kind === 'object' ? fd?.node : d?.kind === 'map' ? d.value : undefined;
      if (fd?.merge === 'replace') setKey(out, key, stripDirectives(pv, p));
      else setKey(out, key, mergeValue(Object.hasOwn(out, key) ? out[key] : undefined, pv, childD, p));
    }
    return out;
  }
  if (Array.isArray(patch)) {
    if (!Array.isArray(target)) return stripDirectives(patch, path);
    const itemD = d?.kind === 'list' ? d.item : undefined;
    const keys = d?.kind === 'list' ? d.mergeKeys : undefined;
    const out = [...target];
    patch.forEach((pv, i) => {
      const p = indexPath(path, i);
      if (keys && isPlainObject(pv)) {
        const at = findByKeys(out, pv, keys);
        if (isDeleteDirective(pv, p)) {
          if (at >= 0) out.splice(at, 1);
          return;
        }
        if (at >= 0) {
          out[at] = mergeValue(out[at], pv, itemD, p);
          return;
        }
      } else if (isDeleteDirective(pv, p)) {
        // Without merge keys an item is matched by its whole value.
        const at = out.findIndex((it) => deepEqual(it, pv));
        if (at >= 0) out.splice(at, 1);
        return;
      }
      out.push(stripDirectives(pv, p));
    });
    return out;
  }
  return patch;
}

/** A patch value that lands where nothing was: directives inside it make no sense and are refused. */
function stripDirectives(v: unknown, path: string): unknown {
  if (Array.isArray(v)) return v.map((x, i) => stripDirectives(x, indexPath(path, i)));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === PATCH_DIRECTIVE) throw new MergeError(childPath(path, k), 'nothing to delete here');
      if (isDeleteDirective(x, childPath(path, k))) continue;
      setKey(out, k, stripDirectives(x, childPath(path, k)));
    }
    return out;
  }
  return v;
}
