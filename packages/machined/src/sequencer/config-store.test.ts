import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, createLogger, hasCode, nullLogger, type LogRecord } from '@talos-ts/cosi';
import { generateMachineConfigs, generateSecretsBundle, toConfigSecrets } from '@talos-ts/machinery';
import { nodePaths } from '@talos-ts/machinery';
import { ConfigStore } from './config-store.ts';

const secrets = toConfigSecrets(await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' }));
const generated = generateMachineConfigs({ clusterName: 'store', endpoint: 'https://127.0.0.1:6443', withClusterDiscovery: false, secrets });
const good = generated.controlplane.toYaml();
const other = generated.worker.toYaml();

function storeIn(t: { after: (fn: () => void) => void }, records: LogRecord[] = []) {
  const dir = mkdtempSync(join(tmpdir(), 'config-store-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const paths = nodePaths(dir);
  const logger = createLogger({ level: 'debug', sink: (r) => void records.push(r) });
  return { paths, store: new ConfigStore({ paths, logger }) };
}

test('ConfigStore: no config.yaml is a new machine; a valid one loads', async (t) => {
  const { paths, store } = storeIn(t);
  assert.deepEqual(await store.load(), { kind: 'none' });
  await store.write(good);
  const r = await store.load();
  assert.equal(r.kind, 'valid');
  assert.equal(r.kind === 'valid' && r.checked.yaml, good);
  assert.deepEqual(readdirSync(paths.root), ['config.yaml']);
});

test('ConfigStore: an empty, truncated or garbage config.yaml is invalid (never a new machine) and says why', async (t) => {
  const { paths, store } = storeIn(t);
  const damaged = { empty: '', truncated: good.slice(0, Math.floor(good.length / 2)), garbage: '\u0000\u0001{{{ not yaml ]]]\n' };
  for (const [what, text] of Object.entries(damaged)) {
    writeFileSync(paths.config, text);
    const r = await store.load();
    assert.equal(r.kind, 'invalid', what);
    assert.ok(r.kind === 'invalid' && hasCode(r.error, Code.DataLoss), what);
    assert.match(r.kind === 'invalid' ? r.error.message : '', new RegExp(`stored configuration ${paths.config} does not load: .+`), what);
    assert.equal(readFileSync(paths.config, 'utf8'), text, 'the damaged file is left for the operator');
  }
});

test('ConfigStore: a valid staged config replaces the applied one when loaded', async (t) => {
  const { paths, store } = storeIn(t);
  await store.write(good);
  await store.stage(other);
  const r = await store.load();
  assert.equal(r.kind === 'valid' && r.checked.yaml, other);
  assert.equal(readFileSync(paths.config, 'utf8'), other);
  assert.ok(!existsSync(paths.stagedConfig));
});

test('ConfigStore: a torn staged config is kept aside with a log line and the applied config loads', async (t) => {
  const records: LogRecord[] = [];
  const { paths, store } = storeIn(t, records);
  await store.write(good);
  writeFileSync(paths.stagedConfig, other.slice(0, 100));
  const r = await store.load();
  assert.equal(r.kind === 'valid' && r.checked.yaml, good);
  assert.equal(readFileSync(paths.config, 'utf8'), good);
  assert.ok(!existsSync(paths.stagedConfig));
  assert.equal(readFileSync(paths.rejectedStagedConfig, 'utf8'), other.slice(0, 100));
  assert.ok(records.some((l) => l.level === 'error' && /staged configuration is invalid/.test(l.msg) && l['keptAs'] === paths.rejectedStagedConfig));
});

test('ConfigStore: a staged file cut where the rest is optional still validates, and is refused because its seal is gone', async (t) => {
  const records: LogRecord[] = [];
  const { paths, store } = storeIn(t, records);
  await store.write(good);
  await store.stage(other);
  const sealed = readFileSync(paths.stagedConfig, 'utf8');
  assert.ok(sealed.startsWith(other), 'the staged file is the config followed by its seal');
  // The torn prefix is a whole, valid config on its own: only the seal tells it apart.
  for (const torn of [other, sealed.slice(0, sealed.length - 10)]) {
    writeFileSync(paths.stagedConfig, torn);
    const r = await store.load();
    assert.equal(r.kind === 'valid' && r.checked.yaml, good);
    assert.equal(readFileSync(paths.config, 'utf8'), good);
    assert.equal(readFileSync(paths.rejectedStagedConfig, 'utf8'), torn);
  }
  assert.ok(records.some((l) => l.level === 'error' && /seal/.test(String(l['reason']))));
});

test('ConfigStore: writers take turns: each one runs alone, in call order, and a failing one does not stop the next', async (t) => {
  const { store } = storeIn(t);
  const log: string[] = [];
  const turn = (name: string, fail = false) =>
    store.exclusive(async () => {
      log.push(`${name} in`);
      await new Promise((r) => setImmediate(r));
      log.push(`${name} out`);
      if (fail) throw new Error(name);
      return name;
    });
  const results = await Promise.allSettled([turn('a'), turn('b', true), turn('c')]);
  assert.deepEqual(log, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled']);
});

test('ConfigStore: the state directory lock is held once per directory', (t) => {
  const { paths, store } = storeIn(t);
  store.lock();
  store.lock();
  const second = new ConfigStore({ paths, logger: nullLogger });
  assert.throws(() => second.lock(), (e) => hasCode(e, Code.FailedPrecondition) && (e as Error).message.includes(paths.root));
  store.release();
  second.lock();
  second.release();
});
