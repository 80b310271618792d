// Random and structured mutations of a machine config. Every mutant says whether the mutation
// KNOWS the result is invalid (a wrong type, an unknown or duplicated key, bad bytes…), knows it
// is valid, or cannot tell (a deleted key may or may not be required): the oracle holds the
// first kind to "never accepted" and every kind to "never crash, never hang".
import { Pair, Scalar, type YAMLMap, isMap, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { v1alpha1Descriptor, type ConfigDescriptorNode } from '@talos-ts/machinery';
import type { Rng } from './rng.ts';

/** What a mutation knows about its result. */
export type Expectation = 'invalid' | 'valid' | 'unknown';

/** One mutated config. */
export interface ConfigMutant {
  readonly category: ConfigMutationCategory;
  readonly expect: Expectation;
  /** The bytes to send (may be invalid UTF-8). */
  readonly bytes: Buffer;
  /** A short description (path, size) for a finding. */
  readonly note: string;
}

/** The mutation categories, in the order the generator cycles through them. */
export const CONFIG_MUTATIONS = [
  'type-change',
  'unknown-key',
  'prototype-key',
  'duplicate-key',
  'delete-key',
  'huge-value',
  'huge-unknown-key',
  'deep-nesting',
  'invalid-utf8',
  'nul-byte',
  'truncation',
  'alias-bomb',
  'multi-doc-junk',
  'byte-flip',
  'valid-edit',
] as const;

/** A config mutation category. */
export type ConfigMutationCategory = (typeof CONFIG_MUTATIONS)[number];

/** Keys JS treats specially on plain objects; a config loader must see them as unknown fields. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', 'valueOf', '__defineGetter__'] as const;

interface MapTarget {
  readonly map: YAMLMap;
  readonly path: string;
}

interface ScalarTarget {
  readonly path: string;
  readonly kind: 'string' | 'integer' | 'boolean';
  readonly set: (node: unknown) => void;
  readonly get: () => unknown;
}

interface Targets {
  /** Maps whose keys the descriptor fixes (an extra key there is unknown). */
  readonly objects: MapTarget[];
  /** Scalars of typed fields (a map or list in their place is a type error). */
  readonly scalars: ScalarTarget[];
  /** Pairs that may be deleted. */
  readonly pairs: { readonly map: YAMLMap; readonly path: string; readonly key: string }[];
}

function keyOf(p: Pair): string | undefined {
  return isScalar(p.key) && typeof p.key.value === 'string' ? p.key.value : undefined;
}

// Walks the YAML tree beside the config descriptor, so each target is known to be typed or open.
function collect(node: unknown, desc: ConfigDescriptorNode, path: string, out: Targets): void {
  if (desc.kind === 'object' && isMap(node)) {
    out.objects.push({ map: node, path });
    for (const p of node.items) {
      const k = keyOf(p);
      if (k === undefined) continue;
      out.pairs.push({ map: node, path, key: k });
      const field = (desc.fields as Record<string, { node: ConfigDescriptorNode } | undefined>)[k];
      if (field && Object.prototype.hasOwnProperty.call(desc.fields, k)) {
        visitValue(p.value, field.node, path === '' ? k : `${path}.${k}`, out, (n) => (p.value = n), () => p.value);
      }
    }
  } else if (desc.kind === 'list' && isSeq(node)) {
    node.items.forEach((item, i) => visitValue(item, desc.item, `${path}[${i}]`, out, (n) => (node.items[i] = n), () => node.items[i]));
  } else if (desc.kind === 'map' && isMap(node)) {
    for (const p of node.items) {
      const k = keyOf(p);
      if (k !== undefined) collect(p.value, desc.value, `${path}.${k}`, out);
    }
  }
}

function visitValue(value: unknown, desc: ConfigDescriptorNode, path: string, out: Targets, set: (n: unknown) => void, get: () => unknown): void {
  if ((desc.kind === 'string' || desc.kind === 'integer' || desc.kind === 'boolean') && isScalar(value) && value.value !== null) {
    out.scalars.push({ path, kind: desc.kind, set, get });
    return;
  }
  collect(value, desc, path, out);
}

/** Mutates one base config (the text of a generated one) per category, reproducibly from an Rng. */
export class ConfigMutator {
  readonly base: string;
  readonly #doc: Document;

  constructor(base: string) {
    this.base = base;
    this.#doc = parseDocument(base, { uniqueKeys: false });
  }

  #fresh(): { doc: Document; targets: Targets } {
    const doc = this.#doc.clone();
    const targets: Targets = { objects: [], scalars: [], pairs: [] };
    collect(doc.contents, v1alpha1Descriptor, '', targets);
    return { doc, targets };
  }

  /** One mutant of a random category. */
  next(rng: Rng): ConfigMutant {
    return this.mutate(rng.pick(CONFIG_MUTATIONS), rng);
  }

  /** One mutant of a given category. */
  mutate(category: ConfigMutationCategory, rng: Rng): ConfigMutant {
    const text = (doc: Document): Buffer => Buffer.from(doc.toString({ lineWidth: 0 }), 'utf8');
    switch (category) {
      case 'type-change': {
        const { doc, targets } = this.#fresh();
        const t = rng.pick(targets.scalars);
        // A map or a list in place of a typed scalar is wrong whatever the scalar's format.
        const replacement = rng.chance(0.5) ? doc.createNode({ fuzz: rng.int(100) }) : doc.createNode([rng.int(100), 'x']);
        t.set(replacement);
        return { category, expect: 'invalid', bytes: text(doc), note: `${t.path}: ${t.kind} → ${isMap(replacement) ? 'map' : 'list'}` };
      }
      case 'unknown-key':
      case 'prototype-key':
      case 'huge-unknown-key': {
        const { doc, targets } = this.#fresh();
        const t = rng.pick(targets.objects);
        let key: string;
        let value: unknown;
        if (category === 'unknown-key') {
          key = `fuzz${rng.pick(['Unknown', 'Extra', 'Typo', 'X'])}${rng.int(1000)}`;
          value = rng.pick<unknown>(['x', 1, true, { a: 1 }, [1, 2]]);
        } else if (category === 'prototype-key') {
          key = rng.pick(PROTOTYPE_KEYS);
          value = rng.pick<unknown>(['x', 1, { polluted: true }, [1], null]);
        } else {
          // Sizes around the metadata limits of HTTP/2 clients and proxies (8 KB, 16 KB, 64 KB+).
          const size = rng.pick([10_000, 20_000, 100_000, 300_000]);
          key = rng.chance(0.5) ? `fuzz${'k'.repeat(size)}` : 'fuzzHuge';
          value = key === 'fuzzHuge' ? 'v'.repeat(size) : 'x';
        }
        t.map.items.push(new Pair(new Scalar(key), doc.createNode(value)));
        return { category, expect: 'invalid', bytes: text(doc), note: `${t.path || '<root>'}.${key.length > 40 ? `${key.slice(0, 20)}…(${key.length})` : key}` };
      }
      case 'duplicate-key': {
        const { doc, targets } = this.#fresh();
        const candidates = targets.objects.filter((o) => o.map.items.length > 0);
        const t = rng.pick(candidates);
        const p = rng.pick(t.map.items);
        t.map.items.splice(rng.int(t.map.items.length + 1), 0, new Pair(new Scalar(keyOf(p) ?? 'x'), doc.createNode(isScalar(p.value) ? p.value.value : 'dup')));
        return { category, expect: 'invalid', bytes: text(doc), note: `${t.path || '<root>'}.${keyOf(p)} twice` };
      }
      case 'delete-key': {
        const { doc, targets } = this.#fresh();
        const t = rng.pick(targets.pairs);
        t.map.delete(t.key);
        return { category, expect: 'unknown', bytes: text(doc), note: `${t.path || '<root>'}.${t.key} deleted` };
      }
      case 'huge-value': {
        const { doc, targets } = this.#fresh();
        const strings = targets.scalars.filter((s) => s.kind === 'string');
        const t = rng.pick(strings);
        // Megabyte values are costly to build and load; keep them rare so long runs stay fast.
        const size = rng.chance(0.05) ? 1_000_000 : rng.pick([1_000, 10_000, 100_000]);
        t.set(new Scalar(rng.pick(['a', '9', '.', 'é']).repeat(size)));
        return { category, expect: 'unknown', bytes: text(doc), note: `${t.path}: ${size} chars` };
      }
      case 'deep-nesting': {
        const depth = rng.pick([64, 200, 1000, 5000, 50_000]);
        const flow = rng.chance(0.5);
        const nest = flow ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{a: '.repeat(depth)}1${'}'.repeat(depth)}`;
        return { category, expect: 'invalid', bytes: this.#prepend(`fuzzDeep: ${nest}\n`), note: `depth ${depth} ${flow ? 'lists' : 'maps'}` };
      }
      case 'alias-bomb': {
        // "Billion laughs": each level refers to the previous one ten times (10^levels leaves).
        const levels = rng.range(4, 12);
        const lines = ['fuzzLaughs:', '    l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]'];
        for (let i = 1; i < levels; i++) lines.push(`    l${i}: &l${i} [${Array.from({ length: 10 }, () => `*l${i - 1}`).join(', ')}]`);
        return { category, expect: 'invalid', bytes: this.#prepend(`${lines.join('\n')}\n`), note: `${levels} levels` };
      }
      case 'invalid-utf8': {
        const seq = rng.pick([[0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]]);
        return this.#insertBytes(category, Buffer.from(seq), rng);
      }
      case 'nul-byte':
        return this.#insertBytes(category, Buffer.from([0]), rng);
      case 'truncation': {
        const b = Buffer.from(this.base, 'utf8');
        const at = rng.int(b.length);
        return { category, expect: 'unknown', bytes: b.subarray(0, at), note: `cut at byte ${at} of ${b.length}` };
      }
      case 'multi-doc-junk': {
        const junk = rng.pick([
          '--- 42\n',
          '---\n- a\n- b\n',
          '---\nkind: FuzzKind\nname: x\n',
          `---\n${this.base}`,
          '--- "just a string"\n',
          '---\n[1, {a: [2]}]\n',
        ]);
        return { category, expect: 'invalid', bytes: Buffer.concat([Buffer.from(this.base), Buffer.from(this.base.endsWith('\n') ? '' : '\n'), Buffer.from(junk)]), note: JSON.stringify(junk.slice(0, 30)) };
      }
      case 'byte-flip': {
        const b = Buffer.from(this.base, 'utf8');
        const flips = rng.range(1, 8);
        for (let i = 0; i < flips; i++) b[rng.int(b.length)] = rng.int(256);
        return { category, expect: 'unknown', bytes: b, note: `${flips} random bytes` };
      }
      case 'valid-edit': {
        const { doc } = this.#fresh();
        // A change every validator must take: a different hostname, or many extra cert SANs
        // (a large but legitimate config).
        const big = rng.chance(0.15);
        if (big) {
          const n = rng.chance(0.1) ? 8_000 : rng.pick([500, 2_000]);
          doc.setIn(['machine', 'certSANs'], doc.createNode(Array.from({ length: n }, (_, i) => `san-${i}.fuzz.example.com`)));
          return { category, expect: 'valid', bytes: text(doc), note: `${n} certSANs` };
        }
        const name = `fuzz-${rng.int(1_000_000)}`;
        doc.setIn(['machine', 'network', 'hostname'], name);
        return { category, expect: 'valid', bytes: text(doc), note: `hostname ${name}` };
      }
    }
  }

  /** The base config with `n` generated cert SANs named `<prefix>-<i>…` (large and valid). */
  withCertSans(prefix: string, n: number): Buffer {
    const { doc } = this.#fresh();
    doc.setIn(['machine', 'certSANs'], doc.createNode(Array.from({ length: n }, (_, i) => `${prefix}-${i}.fuzz.example.com`)));
    return Buffer.from(doc.toString({ lineWidth: 0 }), 'utf8');
  }

  // Puts text first in the v1alpha1 document (the generated config is that one document).
  #prepend(text: string): Buffer {
    return Buffer.from(text + this.base, 'utf8');
  }

  // Places bytes inside a value, a key, a comment or between lines: anywhere is invalid.
  #insertBytes(category: ConfigMutationCategory, bad: Buffer, rng: Rng): ConfigMutant {
    const b = Buffer.from(this.base, 'utf8');
    const at = rng.int(b.length + 1);
    return { category, expect: 'invalid', bytes: Buffer.concat([b.subarray(0, at), bad, b.subarray(at)]), note: `${bad.toString('hex')} at byte ${at}` };
  }
}

