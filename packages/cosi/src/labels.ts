import type { StringMap } from './resource.ts';

/** Label query operators, as COSI defines them. */
export type LabelOp = 'exists' | 'equal' | 'in' | 'lt' | 'lte' | 'ltNumeric' | 'lteNumeric';

/** One term of a label query; `invert` negates it (notExists, notEqual, notIn, gte …). */
export interface LabelTerm {
  readonly key: string;
  readonly op: LabelOp;
  readonly value?: readonly string[];
  readonly invert?: boolean;
}

/** A label query: every term must hold. */
export interface LabelQuery {
  readonly terms: readonly LabelTerm[];
}

function termHolds(labels: StringMap, term: LabelTerm): boolean {
  const v = Object.hasOwn(labels, term.key) ? labels[term.key] : undefined;
  const values = term.value ?? [];
  switch (term.op) {
    case 'exists':
      return v !== undefined;
    case 'equal':
      return v !== undefined && v === values[0];
    case 'in':
      return v !== undefined && values.includes(v);
    case 'lt':
      return v !== undefined && values[0] !== undefined && v < values[0];
    case 'lte':
      return v !== undefined && values[0] !== undefined && v <= values[0];
    case 'ltNumeric':
    case 'lteNumeric': {
      if (v === undefined || values[0] === undefined) return false;
      const a = Number(v);
      const b = Number(values[0]);
      if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
      return term.op === 'ltNumeric' ? a < b : a <= b;
    }
  }
}

/** True when the labels satisfy the query. An empty query matches everything. */
export function matchesLabels(labels: StringMap, query: LabelQuery | undefined): boolean {
  if (!query) return true;
  for (const term of query.terms) {
    if (termHolds(labels, term) === (term.invert === true)) return false;
  }
  return true;
}
