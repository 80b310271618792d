// The field-descriptor kit. One table (v1alpha1.ts) built from these builders drives the TS types
// (through Infer), loading and type checks, unknown-key detection, JSON Schema emission and the
// comments on generated files, so the four can never drift apart.

/** Value formats checked on load (and emitted into the JSON Schema). */
export type Format =
  | 'cidr'
  | 'ip'
  | 'ip-or-cidr'
  | 'subnet-filter'
  | 'url'
  | 'duration'
  | 'pem'
  | 'base64'
  | 'token'
  | 'mac';

/** A string scalar; `enum` narrows the inferred type. Any YAML scalar is accepted as its source text, as Go's yaml does. */
export interface StringNode<T extends string = string> {
  readonly kind: 'string';
  readonly format?: Format;
  readonly enum?: readonly T[];
}

/** An integer scalar with optional inclusive bounds. */
export interface IntegerNode {
  readonly kind: 'integer';
  readonly min?: number;
  readonly max?: number;
}

/** A boolean scalar; yes/no/on/off are accepted as upstream documents. */
export interface BooleanNode {
  readonly kind: 'boolean';
}

/** A list. `mergeKeys`: strategic merge matches items on these keys instead of appending. */
export interface ListNode<I extends Node = Node> {
  readonly kind: 'list';
  readonly item: I;
  readonly mergeKeys?: readonly string[];
}

/** A map with free-form string keys. */
export interface MapNode<V extends Node = Node> {
  readonly kind: 'map';
  readonly value: V;
}

/** A struct with known keys; `name` is the upstream Go type name, used for schema $defs. */
export interface ObjectNode<F extends Fields = Fields> {
  readonly kind: 'object';
  readonly name: string;
  readonly fields: F;
}

/** Unstructured YAML (e.g. Kubernetes objects embedded in the config); never type-checked. */
export interface AnyNode {
  readonly kind: 'any';
}

/** Any descriptor node. */
export type Node = StringNode | IntegerNode | BooleanNode | ListNode | MapNode | ObjectNode | AnyNode;

/** One field of a struct: its node, a short doc comment and merge/required flags. */
export interface Field<N extends Node = Node, R extends boolean = boolean> {
  readonly node: N;
  readonly doc: string;
  readonly required: R;
  /** Strategic merge replaces the whole value instead of merging/appending. */
  readonly merge?: 'replace';
  /** Set on fields upstream keeps only for old configs. */
  readonly deprecated?: boolean;
}

/** The fields of a struct, keyed by YAML key. */
export type Fields = Readonly<Record<string, Field>>;

/**
 * The field a user's key names, or undefined. Own properties only: a key such as `__proto__` or
 * `toString` would otherwise find Object.prototype's members instead of being an unknown field.
 */
export function fieldOf(d: ObjectNode, key: string): Field | undefined {
  return Object.hasOwn(d.fields, key) ? d.fields[key] : undefined;
}

interface StringOptions<T extends string> {
  readonly format?: Format;
  readonly enum?: readonly T[];
}

/** A string node. */
export function str<const T extends string = string>(opts: StringOptions<T> = {}): StringNode<T> {
  return { kind: 'string', ...opts };
}

/** An integer node. */
export function int(opts: { min?: number; max?: number } = {}): IntegerNode {
  return { kind: 'integer', ...opts };
}

/** A boolean node. */
export function bool(): BooleanNode {
  return { kind: 'boolean' };
}

/** A list node. */
export function list<I extends Node>(item: I, opts: { mergeKeys?: readonly string[] } = {}): ListNode<I> {
  return { kind: 'list', item, ...opts };
}

/** A string-keyed map node. */
export function map<V extends Node>(value: V): MapNode<V> {
  return { kind: 'map', value };
}

/** A struct node. */
export function obj<const F extends Fields>(name: string, fields: F): ObjectNode<F> {
  return { kind: 'object', name, fields };
}

/** An unstructured node. */
export function any(): AnyNode {
  return { kind: 'any' };
}

/** An optional field. */
export function opt<N extends Node>(
  node: N,
  doc: string,
  extra: { merge?: 'replace'; deprecated?: boolean } = {},
): Field<N, false> {
  return { node, doc, required: false, ...extra };
}

/** A required field. */
export function req<N extends Node>(node: N, doc: string): Field<N, true> {
  return { node, doc, required: true };
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type RequiredKeys<F extends Fields> = { [K in keyof F]: F[K]['required'] extends true ? K : never }[keyof F];
type OptionalKeys<F extends Fields> = Exclude<keyof F, RequiredKeys<F>>;

/** The TypeScript type a descriptor node describes. */
export type Infer<N> = N extends { kind: 'string'; enum?: readonly (infer T)[] }
  ? string extends T
    ? string
    : T
  : N extends { kind: 'integer' }
    ? number
    : N extends { kind: 'boolean' }
      ? boolean
      : N extends ListNode<infer I>
        ? Infer<I>[]
        : N extends MapNode<infer V>
          ? Record<string, Infer<V>>
          : N extends ObjectNode<infer F>
            ? InferFields<F>
            : unknown;

/** The TypeScript type of a struct's fields. */
export type InferFields<F extends Fields> = Simplify<
  { -readonly [K in RequiredKeys<F>]: Infer<F[K]['node']> } & { -readonly [K in OptionalKeys<F>]?: Infer<F[K]['node']> }
>;
