// talosctl against a real machined (container mode) on loopback, as a user runs it: resource
// definitions by upstream's lower-case ids, and reboot / shutdown, which by default follow the
// node through its events until it is back (reboot) or down (shutdown).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { main } from '@talos-ts/talosctl';
import { processesUsing, runCli, startNode, tempDir, waitFor, type NodeProcess } from '@talos-ts/testkit';

const address = '127.0.0.41';
const tmp = tempDir('it-lifecycle-');
let node: NodeProcess;
let talosconfig = '';

const talosctl = (...args: string[]) => runCli(main, args);
const api = (...args: string[]) => talosctl('--talosconfig', talosconfig, '-e', address, '-n', address, ...args);

before(async () => {
  const g = await talosctl('gen', 'config', 'lc', `https://${address}:6443`, '-o', tmp.dir, '--with-cluster-discovery=false');
  assert.equal(g.code, 0, g.err);
  talosconfig = join(tmp.dir, 'talosconfig');
  node = await startNode(address, join(tmp.dir, 'node'));
  const a = await talosctl('apply-config', '--insecure', '-n', address, '-f', join(tmp.dir, 'controlplane.yaml'));
  assert.equal(a.code, 0, a.err);
  await waitFor('apid answering over mTLS', async () => (await api('version')).code === 0);
});

after(async () => {
  await node.stop();
  assert.deepEqual(processesUsing(node.dir), []);
  tmp.remove();
});

test('talosctl get rd: lower-case definition ids as upstream; one by its id; aliases still resolve', async () => {
  const list = await api('get', 'rd');
  assert.equal(list.code, 0, list.err);
  const ids = list.out.split('\n').slice(1).filter((l) => l !== '').map((l) => l.split(/\s+/)[3] ?? '');
  assert.ok(ids.includes('resourcedefinitions.meta.cosi.dev') && ids.includes('services.v1alpha1.talos.dev'), list.out);
  assert.deepEqual(ids.filter((id) => id !== id.toLowerCase()), []);
  const one = await api('get', 'rd', 'resourcedefinitions.meta.cosi.dev', '-o', 'yaml');
  assert.equal(one.code, 0, one.err);
  assert.match(one.out, /id: resourcedefinitions\.meta\.cosi\.dev/);
  assert.match(one.out, /\nspec:\n {4}type: ResourceDefinitions\.meta\.cosi\.dev\n/);
  for (const alias of ['resourcedefinitions', 'ResourceDefinition', 'rds']) {
    const r = await api('get', alias, 'services.v1alpha1.talos.dev');
    assert.equal(r.code, 0, `${alias}: ${r.err}`);
  }
});

test('talosctl reboot: waits by default, printing the node going down and coming back running and ready', async () => {
  const r = await api('reboot', '--timeout', '2m');
  assert.equal(r.code, 0, r.err);
  const lines = r.err.split('\n').filter((l) => l !== '');
  const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
  const q = `"${address}": `;
  assert.ok(lines.every((l) => l.startsWith(q)), r.err);
  const down = at(/sequence: reboot action: START/);
  const back = at(/stage: RUNNING ready: true/);
  assert.ok(down >= 0 && back > down, `went down, then came back running:\n${r.err}`);
  assert.equal(lines.at(-1), `${q}events check condition met`);
  assert.equal((await api('version')).code, 0);
});

test('talosctl reboot --wait=false: returns once the node accepted, without progress', async () => {
  const r = await api('reboot', '--wait=false');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, '');
  await waitFor('the node back after the reboot', async () => /apid\s+Running\s+OK/.test((await api('services')).out), 60_000);
});

test('talosctl shutdown: waits until the node is down; a timeout flag that is not a duration is refused', async () => {
  const bad = await api('shutdown', '--timeout', 'soon');
  assert.equal(bad.code, 1);
  assert.equal(bad.err, 'error: invalid duration "soon"\n');
  const r = await api('shutdown');
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /sequence: shutdown action: START/);
  assert.match(r.err, new RegExp(`"${address.replace(/\./g, '\\.')}": the node is down\\n$`));
  assert.notEqual((await api('version')).code, 0);
});
