// The subset of Kubernetes JSONPath templates that resource print columns and `-o jsonpath` use:
// literal text with `{.field.sub}`, `{.list[0]}`, `{.list[*].name}` and `{['key.with.dots']}`.

type Step = { readonly key: string } | { readonly index: number } | { readonly all: true };

function parsePath(expr: string): Step[] {
  const steps: Step[] = [];
  let rest = expr.trim();
  if (rest.startsWith('$')) rest = rest.slice(1);
  while (rest.length > 0) {
    let m: RegExpExecArray | null;
    if ((m = /^\.([^.[\]]+)/.exec(rest))) steps.push({ key: m[1] ?? '' });
    else if ((m = /^\[\*\]/.exec(rest))) steps.push({ all: true });
    else if ((m = /^\[(-?\d+)\]/.exec(rest))) steps.push({ index: Number(m[1]) });
    else if ((m = /^\[['"]([^'"]*)['"]\]/.exec(rest))) steps.push({ key: m[1] ?? '' });
    else if (rest === '.') break;
    else throw new Error(`unrecognized JSONPath "${expr}" at "${rest}"`);
    rest = rest.slice(m[0].length);
  }
  return steps;
}

function walk(values: unknown[], steps: readonly Step[]): unknown[] {
  let cur = values;
  for (const step of steps) {
    const next: unknown[] = [];
    for (const v of cur) {
      if ('all' in step) {
        if (Array.isArray(v)) next.push(...(v as unknown[]));
        else if (v && typeof v === 'object') next.push(...Object.values(v));
      } else if ('index' in step) {
        if (Array.isArray(v)) {
          const i = step.index < 0 ? v.length + step.index : step.index;
          if (i >= 0 && i < v.length) next.push(v[i]);
        }
      } else if (v && typeof v === 'object' && !Array.isArray(v) && Object.hasOwn(v, step.key)) {
        next.push((v as Record<string, unknown>)[step.key]);
      }
    }
    cur = next;
  }
  return cur;
}

function text(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return v;
  if (v instanceof Date) return v.toISOString().replace('.000Z', 'Z');
  if (Array.isArray(v)) return `[${v.map(text).join(' ')}]`;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** Evaluates a JSONPath template against a value; missing keys print as nothing. */
export function evalJsonPath(template: string, value: unknown): string {
  let out = '';
  let rest = template;
  while (rest.length > 0) {
    const open = rest.indexOf('{');
    if (open < 0) {
      out += rest;
      break;
    }
    out += rest.slice(0, open);
    const close = rest.indexOf('}', open);
    if (close < 0) throw new Error(`unclosed action in JSONPath "${template}"`);
    const results = walk([value], parsePath(rest.slice(open + 1, close)));
    out += results.map(text).join(' ');
    rest = rest.slice(close + 1);
  }
  return out;
}
