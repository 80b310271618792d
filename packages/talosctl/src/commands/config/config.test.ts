import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createSelfSignedCa,
  generateAdminTalosconfig,
  generateKey,
  loadTalosconfig,
  saveTalosconfig,
  type Talosconfig,
} from '@talos-ts/machinery';
import { main } from '../../main.ts';
import { formatTable } from './config.ts';
import { relativeTime } from './info.ts';
import { globToRegExp } from './remove.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'talosctl-config-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

let n = 0;
async function fresh(config: Talosconfig): Promise<string> {
  const file = join(dir, `tc-${n++}`);
  await saveTalosconfig(file, config);
  return file;
}

const base: Talosconfig = {
  context: 'one',
  contexts: {
    one: { endpoints: ['10.0.0.1'], nodes: ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'] },
    two: { endpoints: ['10.1.0.1', '10.1.0.2'] },
  },
};

test('config contexts: table with CURRENT column, nodes cut after three', async () => {
  const file = await fresh(base);
  const res = await run('--talosconfig', file, 'config', 'contexts');
  assert.equal(res.code, 0, res.err);
  assert.equal(
    res.out,
    'CURRENT   NAME   ENDPOINTS           NODES\n' +
      '*         one    10.0.0.1            10.0.0.2,10.0.0.3,10.0.0.4...\n' +
      '          two    10.1.0.1,10.1.0.2   \n',
  );
});

test('config context / use-context: switches current context; unknown context is an error', async () => {
  const file = await fresh(base);
  assert.equal((await run('--talosconfig', file, 'config', 'context', 'two')).code, 0);
  assert.equal((await loadTalosconfig(file)).context, 'two');
  assert.equal((await run('--talosconfig', file, 'config', 'use-context', 'one')).code, 0);
  assert.equal((await loadTalosconfig(file)).context, 'one');
  const bad = await run('--talosconfig', file, 'config', 'context', 'three');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /context "three" is not defined/);
});

test('config endpoint / node: replace lists of the current or --context context', async () => {
  const file = await fresh(base);
  assert.equal((await run('--talosconfig', file, 'config', 'endpoint', '1.1.1.1', '2.2.2.2')).code, 0);
  assert.equal((await run('--talosconfig', file, '--context', 'two', 'config', 'nodes', '3.3.3.3')).code, 0);
  let cfg = await loadTalosconfig(file);
  assert.deepEqual(cfg.contexts['one']?.endpoints, ['1.1.1.1', '2.2.2.2']);
  assert.deepEqual(cfg.contexts['two']?.nodes, ['3.3.3.3']);
  assert.equal((await run('--talosconfig', file, 'config', 'node')).code, 0);
  cfg = await loadTalosconfig(file);
  assert.equal(cfg.contexts['one']?.nodes, undefined);
  const empty = await fresh({ context: '', contexts: {} });
  const res = await run('--talosconfig', empty, 'config', 'endpoint', '1.1.1.1');
  assert.match(res.err, /no context is set/);
});

test('config add: stores base64 of the given files; crt without key is refused', async () => {
  const file = join(dir, 'new', 'talosconfig');
  const ca = join(dir, 'ca.pem');
  const crt = join(dir, 'crt.pem');
  const key = join(dir, 'key.pem');
  writeFileSync(ca, 'CA-PEM');
  writeFileSync(crt, 'CRT-PEM');
  writeFileSync(key, 'KEY-PEM');
  const res = await run('--talosconfig', file, 'config', 'add', 'lab', '--ca', ca, '--crt', crt, '--key', key);
  assert.equal(res.code, 0, res.err);
  const cfg = await loadTalosconfig(file);
  assert.equal(Buffer.from(cfg.contexts['lab']?.ca ?? '', 'base64').toString(), 'CA-PEM');
  assert.equal(Buffer.from(cfg.contexts['lab']?.key ?? '', 'base64').toString(), 'KEY-PEM');
  const half = await run('--talosconfig', file, 'config', 'add', 'x', '--crt', crt);
  assert.equal(half.code, 1);
  assert.match(half.err, /both are required/);
});

test('config merge: clashes become name-1, name-2; --force replaces', async () => {
  const file = await fresh(base);
  const other = await fresh({ context: 'one', contexts: { one: { endpoints: ['9.9.9.9'] } } });
  let res = await run('--talosconfig', file, 'config', 'merge', other);
  assert.equal(res.code, 0, res.err);
  assert.match(res.err, /renamed talosconfig context "one" -> "one-1"/);
  res = await run('--talosconfig', file, 'config', 'merge', other);
  assert.match(res.err, /"one" -> "one-2"/);
  let cfg = await loadTalosconfig(file);
  assert.deepEqual(Object.keys(cfg.contexts).sort(), ['one', 'one-1', 'one-2', 'two']);
  assert.equal(cfg.context, 'one-2');
  res = await run('--talosconfig', file, 'config', 'merge', other, '--force');
  assert.equal(res.code, 0, res.err);
  cfg = await loadTalosconfig(file);
  assert.deepEqual(cfg.contexts['one']?.endpoints, ['9.9.9.9']);
  assert.equal(Object.keys(cfg.contexts).length, 4);
});

test('config remove: glob match, current context kept, --noconfirm required without a terminal', async () => {
  const file = await fresh({
    context: 'prod',
    contexts: { prod: { endpoints: [] }, 'test-a': { endpoints: [] }, 'test-b': { endpoints: [] }, dev: { endpoints: [] } },
  });
  const noTty = await run('--talosconfig', file, 'config', 'remove', 'dev');
  assert.equal(noTty.code, 1);
  assert.match(noTty.err, /--noconfirm/);
  const res = await run('--talosconfig', file, 'config', 'remove', 'test-*', '--noconfirm');
  assert.equal(res.code, 0, res.err);
  assert.deepEqual(Object.keys((await loadTalosconfig(file)).contexts).sort(), ['dev', 'prod']);
  const cur = await run('--talosconfig', file, 'config', 'remove', 'prod', '-y');
  assert.match(cur.err, /skipping removal of current context "prod"/);
  assert.ok((await loadTalosconfig(file)).contexts['prod']);
  const none = await run('--talosconfig', file, 'config', 'remove', 'zzz*', '-y');
  assert.match(none.err, /no contexts matched "zzz\*"/);
});

test('config info: roles and expiry from the client certificate, text and json', async () => {
  const key = await generateKey('ed25519');
  const now = new Date();
  const ca = createSelfSignedCa({ key, subject: { organizations: ['talos'] }, notBefore: now, notAfter: new Date(now.getTime() + 87600 * 3600_000) });
  const cfg = await generateAdminTalosconfig({ contextName: 'c1', endpoints: ['10.5.0.2'], osCa: { crt: ca.crtPem, key: ca.keyPem } });
  const file = await fresh(cfg);
  const res = await run('--talosconfig', file, 'config', 'info');
  assert.equal(res.code, 0, res.err);
  const expiry = new Date(Math.floor(now.getTime() / 1000) * 1000 + 365 * 86400_000).toISOString().slice(0, 10);
  assert.equal(
    res.out,
    'Current context:     c1\n' +
      'Nodes:               not defined\n' +
      'Endpoints:           10.5.0.2\n' +
      'Roles:               os:admin\n' +
      `Certificate expires: 1 year from now (${expiry})\n`,
  );
  const json = JSON.parse((await run('--talosconfig', file, 'config', 'info', '-o', 'json')).out) as Record<string, unknown>;
  assert.deepEqual(json['roles'], ['os:admin']);
  assert.deepEqual(json['endpoints'], ['10.5.0.2']);
});

test('config helpers: table padding, relative times and globs behave like upstream', () => {
  assert.equal(formatTable([['A', 'BB'], ['CCC', 'D']]), 'A     BB\nCCC   D\n');
  const now = new Date(Date.UTC(2026, 0, 1));
  assert.equal(relativeTime(new Date(now.getTime() + 365 * 86400_000), now), '1 year from now');
  assert.equal(relativeTime(new Date(now.getTime() - 3 * 86400_000), now), '3 days ago');
  assert.equal(relativeTime(new Date(now.getTime() + 90 * 60_000), now), '1 hour from now');
  assert.equal(relativeTime(new Date(now.getTime() + 10 * 365 * 86400_000), now), '10 years from now');
  assert.ok(globToRegExp('a*').test('abc'));
  assert.ok(!globToRegExp('a?').test('abc'));
  assert.ok(globToRegExp('ctx.[12]').test('ctx.2'));
  assert.ok(!globToRegExp('ctx.1').test('ctxx1'));
});
