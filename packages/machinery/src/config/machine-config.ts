// The loaded config: typed values plus the YAML documents they came from, so saving writes the
// user's comments back and typed edits (patches, generators) land in the same documents.
import { Document, isAlias, isMap, isScalar, isSeq, isPair, type LineCounter, type Node as YamlNode } from 'yaml';
import { findDocumentKind, type ExtraDocument } from './documents.ts';
import { fieldOf, type Node } from './schema.ts';
import { v1alpha1Descriptor, type V1Alpha1Config } from './v1alpha1.ts';
import { scalarBoolean, scalarString } from './walk.ts';

/** How YAML is written: upstream's four-space indentation and no line folding of long base64. */
export const YAML_OUTPUT_OPTIONS = { indent: 4, lineWidth: 0, minContentWidth: 0 } as const;

const sources = new WeakMap<object, Document>();
// Line counters only for documents parsed from text and not yet re-serialized: their node offsets
// still point into that text.
const lineCounters = new WeakMap<object, LineCounter>();

/** Remembers which YAML document a typed value was loaded from. */
export function attachSource(value: object, doc: Document, lc?: LineCounter): void {
  sources.set(value, doc);
  if (lc) lineCounters.set(value, lc);
}

/** The YAML document a typed value was loaded from, if any. */
export function sourceOf(value: object): Document | undefined {
  return sources.get(value);
}

/** Splits a rendered path (a.b[0]["c.d"]) back into keys and indexes. */
export function parsePath(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  const re = /([^.[\]]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;
  for (const m of path.matchAll(re)) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else if (m[3] !== undefined) out.push(JSON.parse(m[3]) as string);
  }
  return out;
}

/** A machine config: the v1alpha1 document and any other documents beside it. */
export class MachineConfig {
  /** The v1alpha1 document, typed; edit it in place and `toYaml()` writes the edits. */
  config: V1Alpha1Config;
  /** Other documents (apiVersion + kind), in file order. */
  documents: ExtraDocument[];
  /** Where the config came from, used in messages. */
  readonly filename: string;

  constructor(config: V1Alpha1Config, documents: ExtraDocument[], options: { filename: string }) {
    this.config = config;
    this.documents = documents;
    this.filename = options.filename;
  }

  /** The machine role (controlplane, worker, init). */
  get machineType(): string {
    return this.config.machine.type;
  }

  /** Line and column of a v1alpha1 path in the loaded text (nearest existing parent), when known. */
  locate(path: string): { line: number; col: number } | undefined {
    const doc = sources.get(this.config);
    const lc = lineCounters.get(this.config);
    if (!doc || !lc) return undefined;
    const segs = parsePath(path);
    while (segs.length > 0) {
      const node: unknown = doc.getIn(segs, true);
      const range = node && typeof node === 'object' && 'range' in node ? (node as YamlNode).range : undefined;
      if (range) return lc.linePos(range[0]);
      segs.pop();
    }
    return undefined;
  }

  /** Plain copies of all documents, v1alpha1 first. */
  toObjects(): unknown[] {
    return [structuredClone(this.config), ...this.documents.map((d) => structuredClone(d))];
  }

  /** Serializes all documents; comments of the loaded file are kept, typed edits are applied. */
  toYaml(): string {
    const parts: string[] = [];
    const all: [object, Node][] = [[this.config, v1alpha1Descriptor]];
    for (const d of this.documents) all.push([d, findDocumentKind(d.kind)?.descriptor ?? { kind: 'any' }]);
    for (const [value, descriptor] of all) {
      let doc = sources.get(value);
      if (doc) {
        lineCounters.delete(value);
        doc.contents = syncNode(doc, doc.contents, value);
      } else {
        doc = commentedDocument(value, descriptor);
        sources.set(value, doc);
      }
      let text = doc.toString(YAML_OUTPUT_OPTIONS);
      if (parts.length > 0 && !text.startsWith('---')) text = `---\n${text}`;
      parts.push(text);
    }
    return parts.join('');
  }

  /** A deep copy that keeps its own copy of the source documents (and so their comments). */
  clone(): MachineConfig {
    const config = structuredClone(this.config);
    const documents = this.documents.map((d) => structuredClone(d));
    copySource(this.config, config);
    this.documents.forEach((d, i) => copySource(d, documents[i] as object));
    return new MachineConfig(config, documents, { filename: this.filename });
  }
}

function copySource(from: object, to: object): void {
  const doc = sources.get(from);
  if (doc) sources.set(to, doc.clone());
}

/** Builds a YAML document for a value, with each known field's doc string as its comment. */
export function commentedDocument(value: unknown, descriptor: Node): Document {
  const doc = new Document(value);
  annotate(doc.contents, descriptor);
  return doc;
}

function annotate(node: unknown, d: Node): void {
  if (d.kind === 'list' && isSeq(node)) {
    for (const item of node.items) annotate(item, d.item);
  } else if (d.kind === 'map' && isMap(node)) {
    for (const pair of node.items) annotate(pair.value, d.value);
  } else if (d.kind === 'object' && isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '';
      const field = fieldOf(d, key);
      if (!field) continue;
      if (isScalar(pair.value)) {
        pair.value.comment = ` ${field.doc}`;
      } else if (isScalar(pair.key)) {
        pair.key.commentBefore = ` ${field.doc}`;
      }
      annotate(pair.value, field.node);
    }
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function scalarMatches(node: YamlNode, value: unknown): boolean {
  if (!isScalar(node)) return false;
  if (node.value === value) return true;
  if (typeof value === 'string') return scalarString(node) === value;
  if (typeof value === 'boolean') return scalarBoolean(node) === value;
  if (typeof value === 'number' && typeof node.value === 'bigint') return Number(node.value) === value;
  return false;
}

/**
 * Makes `node` represent `value`, changing as little as possible: keys and items that stay keep
 * their nodes and with them their comments. Returns the node to use (a new one when kinds differ).
 */
export function syncNode(doc: Document, node: unknown, value: unknown): YamlNode | null {
  if (value === undefined) return null;
  if (isAlias(node)) {
    const target = node.resolve(doc);
    if (target && sameData(doc, target, value)) return node;
    return doc.createNode(value);
  }
  if (isPlainObject(value)) {
    if (!isMap(node)) return doc.createNode(value);
    const seen = new Set<string>();
    node.items = node.items.filter((pair) => {
      if (!isPair(pair)) return false;
      const key = isScalar(pair.key) ? scalarString(pair.key) : undefined;
      if (key === undefined) return false;
      seen.add(key);
      const v = Object.hasOwn(value, key) ? value[key] : undefined;
      if (v === undefined) {
        // An explicit null stands for "unset", which is what an absent typed key means too.
        return pair.value == null || (isScalar(pair.value) && pair.value.value === null);
      }
      pair.value = syncNode(doc, pair.value, v);
      return true;
    });
    for (const [k, v] of Object.entries(value)) {
      if (!seen.has(k) && v !== undefined) node.items.push(doc.createPair(k, v));
    }
    return node;
  }
  if (Array.isArray(value)) {
    if (!isSeq(node)) return doc.createNode(value);
    node.items = value.map((v, i) => (i < node.items.length ? syncNode(doc, node.items[i], v) : doc.createNode(v)));
    return node;
  }
  if (isScalar(node)) {
    if (!scalarMatches(node, value)) {
      node.value = value;
      if (node.type === 'PLAIN' || node.type === undefined) delete node.type;
      delete node.source;
    }
    return node;
  }
  return doc.createNode(value);
}

function sameData(doc: Document, node: unknown, value: unknown): boolean {
  const js: unknown = isScalar(node) || isMap(node) || isSeq(node) ? node.toJS(doc, { maxAliasCount: 100 }) : undefined;
  return JSON.stringify(js) === JSON.stringify(value);
}
