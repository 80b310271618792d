// Bounded property tests over config loading: random byte and structure mutations of valid
// configs. Whatever comes in, the loader answers with a config or one typed, one-line, short error
// (never an internal TypeError/RangeError), and what it accepts is exactly what was sent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { ConfigLoadError } from './errors.ts';
import { loadConfig, type LoadResult } from './load.ts';
import { applyPatches, parsePatch } from './patch.ts';
import { fixture } from './testdata/fixtures.ts';
import { decodeConfigText } from './text.ts';
import { validateConfig } from './validate.ts';

const seeds = ['worker.yaml', 'controlplane.yaml', 'multidoc.yaml'].map((n) => Buffer.from(fixture(n)));

// Keys and values that have broken loaders before: prototype names, near-misses, huge and odd text.
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', 'typ', 'machine', 'version', '$patch', 'kind', '');
const hostileValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('x'.repeat(5000), '\0', '\u0000\u0001', '\ud800', '𝄞', '1e999', '-0', '0x10', '.inf', 'null', '~', '*a', '&a x', '!!binary AAAA', '10.0.0.0/33'),
  hostileKey,
);

/** A loader outcome that is acceptable: a config, or a ConfigLoadError that is short, on one line, and not an internal failure. */
function assertTyped(r: LoadResult, what: string): void {
  if (r.value) return;
  assert.ok(r.error instanceof ConfigLoadError, `${what}: untyped error ${String(r.error)}`);
  const m = r.error.message;
  assert.doesNotMatch(m, /cannot load:|cannot build config:|too deeply nested to parse/, `${what}: internal failure surfaced: ${m.slice(0, 300)}`);
  assert.doesNotMatch(m, /\n/, what);
  assert.ok(m.length <= 2048, `${what}: ${m.length}-character error`);
}

/** An accepted config saves to text that loads back to the same typed value, and validation never throws. */
function assertRoundTrip(r: LoadResult): void {
  if (!r.value) return;
  validateConfig(r.value, { mode: 'container' });
  const again = loadConfig(Buffer.from(r.value.toYaml()), { filename: 'saved.yaml' });
  assert.equal(again.error, undefined, again.error?.message);
  assert.deepEqual(again.value?.config, r.value.config);
  assert.deepEqual(again.value?.documents, r.value.documents);
}

type Mutation = { at: number; kind: 'insert' | 'replace' | 'delete'; bytes: number[] };

function mutate(seed: Buffer, ms: readonly Mutation[]): Buffer {
  let b = seed;
  for (const m of ms) {
    const at = m.at % (b.length + 1);
    const ins = Buffer.from(m.bytes);
    if (m.kind === 'insert') b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at)]);
    else if (m.kind === 'replace') b = Buffer.concat([b.subarray(0, at), ins, b.subarray(at + ins.length)]);
    else b = Buffer.concat([b.subarray(0, at), b.subarray(at + Math.max(1, ins.length))]);
  }
  return b;
}

test('config fuzz: byte mutations of valid configs load or fail typed, and accepted bytes are stored unchanged', () => {
  const byte = fc.oneof(fc.integer({ min: 0, max: 255 }), fc.constantFrom(0x00, 0x0a, 0x20, 0x3a, 0x2d, 0x23, 0x22, 0x5b, 0x7b, 0x26, 0x2a, 0xc3, 0xed, 0xf4, 0xff));
  const mutation = fc.record({ at: fc.nat(), kind: fc.constantFrom('insert', 'replace', 'delete'), bytes: fc.array(byte, { minLength: 1, maxLength: 6 }) }) as fc.Arbitrary<Mutation>;
  fc.assert(
    fc.property(fc.constantFrom(...seeds.keys()), fc.array(mutation, { minLength: 1, maxLength: 4 }), (i, ms) => {
      const bytes = mutate(seeds[i] as Buffer, ms);
      const r = loadConfig(bytes, { filename: 'f.yaml' });
      assertTyped(r, 'bytes');
      if (r.value) {
        // Stored text is the decoded input: encoding it again gives back the bytes sent.
        const text = decodeConfigText(bytes, { filename: 'f.yaml' });
        assert.ok(text.value !== undefined && Buffer.from(text.value).equals(bytes));
        assertRoundTrip(r);
      }
    }),
    { numRuns: 300 },
  );
});

/** Sets `value` at a random spot of `doc`: an existing key, a new key, or a list item. */
function plant(doc: unknown, route: readonly number[], key: string, value: unknown): unknown {
  const copy = structuredClone(doc);
  let cur: unknown = copy;
  for (const step of route) {
    if (Array.isArray(cur) && cur.length > 0) cur = cur[step % cur.length];
    else if (cur !== null && typeof cur === 'object') {
      const keys = Object.keys(cur);
      if (keys.length === 0) break;
      const next = (cur as Record<string, unknown>)[keys[step % keys.length] as string];
      if (next === null || typeof next !== 'object') break;
      cur = next;
    } else break;
  }
  if (Array.isArray(cur)) cur.push(value);
  else if (cur !== null && typeof cur === 'object') {
    const keys = Object.keys(cur);
    const target = key === '' && keys.length > 0 ? (keys[route.length % keys.length] as string) : key;
    Object.defineProperty(cur, target, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

test('config fuzz: structural mutations (odd keys, values, types) load or fail typed, and accepted ones round-trip', () => {
  const docs = seeds.map((s) => loadConfig(s, { filename: 'seed' }).value?.toObjects() ?? []);
  fc.assert(
    fc.property(
      fc.constantFrom(...docs.keys()),
      fc.array(fc.nat(), { maxLength: 6 }),
      hostileKey,
      hostileValue,
      fc.constantFrom('yaml', 'json'),
      (i, route, key, value, format) => {
        const objects = docs[i] as unknown[];
        const mutated = [plant(objects[0], route, key, value), ...objects.slice(1)];
        const text = format === 'json' ? mutated.map((d) => JSON.stringify(d)).join('\n---\n') : mutated.map((d) => stringify(d)).join('---\n');
        const r = loadConfig(text, { filename: 'f.yaml' });
        assertTyped(r, 'structure');
        assertRoundTrip(r);
      },
    ),
    { numRuns: 300 },
  );
});

test('config fuzz: strategic and JSON patches with odd keys and values apply or fail typed', () => {
  const base = loadConfig(seeds[0] as Buffer, { filename: 'seed' }).value;
  assert.ok(base);
  const pointer = fc.array(fc.oneof(hostileKey, fc.constantFrom('machine', 'network', 'nodeLabels', 'interfaces', '0', '-', 'cluster')), { minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.constantFrom('strategic', 'json'), pointer, hostileValue, fc.constantFrom('add', 'replace', 'remove', 'test', 'move', 'copy'), (type, route, value, op) => {
      let text: string;
      if (type === 'json') text = JSON.stringify([{ op, path: `/${route.join('/')}`, from: '/machine/type', value }]);
      else {
        let doc: unknown = value;
        for (const k of [...route].reverse()) doc = Object.defineProperty({}, k, { value: doc, enumerable: true });
        text = JSON.stringify(doc);
      }
      const p = parsePatch(text, { name: 'p.yaml' });
      if (p.error) return assertTyped(p, 'patch parse');
      const r = applyPatches(base, [p.value]);
      assertTyped(r, 'patch apply');
      assertRoundTrip(r);
    }),
    { numRuns: 300 },
  );
});
