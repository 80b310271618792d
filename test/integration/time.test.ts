// `talosctl time` as a user runs it: a real machined + apid (container mode) on loopback, asked
// through apid for its time against real chronyd, by the configured server and by --check.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '@talos-ts/talosctl';
import { hasChronyd, processesUsing, runCli, startChrony, startNode, tempDir, waitFor, type ChronyServer, type NodeProcess } from '@talos-ts/testkit';

const address = '127.0.24.10';
const tmp = tempDir('it-time-');
const skip = !hasChronyd() && 'needs chronyd';
let node: NodeProcess | undefined;
let chrony: ChronyServer | undefined;
let talosconfig = '';

const talosctl = (...args: string[]) => runCli(main, args);
const api = (...args: string[]) => talosctl('--talosconfig', talosconfig, '-e', address, '-n', address, ...args);

/** Go's time.Time.String() of a UTC time, back to Unix ms. */
function parseGoTime(s: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? \+0000 UTC$/.exec(s);
  assert.ok(m, `not a Go UTC time: ${s}`);
  return Date.parse(`${m[1]}T${m[2]}${(m[3] ?? '').slice(0, 4)}Z`);
}

before(async () => {
  if (skip) return;
  chrony = await startChrony({ address: '127.0.24.11', port: 12327 });
  const patch = `machine:\n  time:\n    servers:\n      - "${chrony.server}"\n`;
  const g = await talosctl('gen', 'config', 'timed', `https://${address}:6443`, '-o', tmp.dir, '--with-cluster-discovery=false', '--config-patch', patch);
  assert.equal(g.code, 0, g.err);
  talosconfig = join(tmp.dir, 'talosconfig');
  node = await startNode(address, join(tmp.dir, 'node'));
  const a = await talosctl('apply-config', '--insecure', '-n', address, '-f', join(tmp.dir, 'controlplane.yaml'));
  assert.equal(a.code, 0, a.err);
  await waitFor('apid answering over mTLS', async () => (await api('version')).code === 0);
});

after(async () => {
  if (node) {
    await node.stop();
    assert.deepEqual(processesUsing(node.dir), []);
  }
  await chrony?.stop();
  tmp.remove();
});

test('talosctl time: the node time and the configured NTP server time, in upstream columns', { skip }, async (t) => {
  const started = Date.now();
  const r = await api('time');
  assert.equal(r.code, 0, r.err);
  t.diagnostic(`talosctl time answered in ${Date.now() - started} ms`);
  const lines = r.out.trimEnd().split('\n');
  assert.match(lines[0]!, /^NODE\s+NTP-SERVER\s+NODE-TIME\s+NTP-SERVER-TIME$/);
  assert.equal(lines.length, 2, r.out);
  const cells = lines[1]!.split(/\s{3,}/);
  assert.equal(cells[0], address);
  assert.equal(cells[1], chrony!.server);
  // chronyd serves the host clock, which is the container node's clock too.
  const offset = parseGoTime(cells[3]!) - parseGoTime(cells[2]!);
  assert.ok(Math.abs(offset) < 100, `offset ${offset} ms`);
});

test('talosctl time --check: asks the named server; one that does not answer fails with a clear error', { skip }, async () => {
  const ok = await api('time', '--check', chrony!.server);
  assert.equal(ok.code, 0, ok.err);
  assert.match(ok.out, new RegExp(`${address.replace(/\./g, '\\.')}\\s+${chrony!.server.replace(/\./g, '\\.')}\\s+\\d{4}-`));
  const started = Date.now();
  const bad = await api('time', '--check', '127.0.24.12:12327');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /error querying NTP server "127\.0\.24\.12:12327"/);
  assert.ok(Date.now() - started < 10_000);
});

test('TimeStatus: container mode reports sync disabled and synced, as upstream', { skip }, async () => {
  const r = await api('get', 'timestatus', '-o', 'yaml');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /synced: true/);
  assert.match(r.out, /syncDisabled: true/);
});
