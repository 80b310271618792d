import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'node:test';
import { Code, InMemoryState, nullLogger, TalosError } from '@talos-ts/cosi';
import { ADV_COPY_BYTES, ADV_DATA_BYTES, MetaKeyType, NamespaceName, registerTalosResources } from '@talos-ts/machinery';
import { metaPartition } from '../linux/meta-partition.ts';
import { MetaStore } from './store.ts';

const logger = nullLogger;

/** A 1 MiB file standing in for the META partition (upstream's size), blank as after an install. */
function partition(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'meta-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'META');
  writeFileSync(path, Buffer.alloc(1024 * 1024));
  return path;
}

function keys(state: InMemoryState): Record<string, string> {
  return Object.fromEntries(state.list<{ value: string }>({ namespace: NamespaceName.runtime, type: MetaKeyType }).map((r) => [r.metadata.id, r.spec.value]));
}

test('MetaStore: a key written survives a new store over the same partition (a reboot) and shows as a MetaKey', (t) => {
  const path = partition(t);
  const first = new MetaStore({ device: metaPartition(path), logger });
  first.write(0x0a, 'hello');
  const after = new MetaStore({ device: metaPartition(path), logger });
  const state = new InMemoryState();
  registerTalosResources(state);
  after.publishTo(state);
  assert.equal(after.read(0x0a), 'hello');
  assert.deepEqual(keys(state), { '0x0a': 'hello' });
  after.delete(0x0a);
  assert.deepEqual(keys(state), {});
  assert.deepEqual(new MetaStore({ device: metaPartition(path), logger }).tags(), []);
});

test('MetaStore: a torn first copy is read from the second', (t) => {
  const path = partition(t);
  new MetaStore({ device: metaPartition(path), logger }).write(7, 'registry/installer:v2');
  const bytes = readFileSync(path);
  bytes.fill(0xee, 100, 4096);
  writeFileSync(path, bytes);
  assert.equal(new MetaStore({ device: metaPartition(path), logger }).read(7), 'registry/installer:v2');
});

test('MetaStore: a full META refuses the write with ResourceExhausted and the partition keeps its old values', (t) => {
  const path = partition(t);
  const store = new MetaStore({ device: metaPartition(path), logger });
  store.write(12, 'small');
  const before = readFileSync(path).subarray(0, 2 * ADV_COPY_BYTES);
  assert.throws(() => store.write(13, new Uint8Array(ADV_DATA_BYTES)), (e) => e instanceof TalosError && e.code === Code.ResourceExhausted && /meta write failed/.test(e.message));
  assert.deepEqual(readFileSync(path).subarray(0, 2 * ADV_COPY_BYTES), before);
  assert.deepEqual(store.tags(), [12]);
});

test('MetaStore: deleting a missing key is NotFound; clear() of absent keys writes nothing', (t) => {
  const path = partition(t);
  const store = new MetaStore({ device: metaPartition(path), logger });
  assert.throws(() => store.delete(0x0a), (e) => e instanceof TalosError && e.code === Code.NotFound);
  store.clear([7, 8]);
  assert.equal(readFileSync(path).readUInt32BE(0), 0, 'the blank partition was not written');
});
