import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { machinePb, testService } from '@talos-ts/machinery';
import { fakeNode, type FakeNode } from '../../testing/fake-node.ts';

/** A kubeconfig as a node sends it; `tag` makes the credentials differ between nodes/clusters. */
function adminKubeconfig(tag: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${b64(`ca-${tag}`)}`,
    '    server: https://10.5.0.2:6443',
    '  name: demo',
    'contexts:',
    '- context:',
    '    cluster: demo',
    '    namespace: default',
    '    user: admin@demo',
    '  name: admin@demo',
    'current-context: admin@demo',
    'kind: Config',
    'preferences: {}',
    'users:',
    '- name: admin@demo',
    '  user:',
    `    client-certificate-data: ${b64(`crt-${tag}`)}`,
    `    client-key-data: ${b64(`key-${tag}`)}`,
    '',
  ].join('\n');
}

/** A node whose Kubeconfig reply is packed by tar(1), so our reader is checked against another writer. */
async function kubeNode(tag: { current: string }, nodes?: string[]): Promise<FakeNode> {
  const n: FakeNode = await fakeNode(
    [
      testService(machinePb.MachineService, {
        async *kubeconfig() {
          const dir = join(n.dir, `pack-${tag.current}`);
          mkdirSync(dir, { recursive: true });
          writeFileSync(join(dir, 'kubeconfig'), adminKubeconfig(tag.current));
          yield { bytes: execFileSync('tar', ['-czf', '-', '-C', dir, 'kubeconfig']) };
        },
      }),
    ],
    nodes ? { nodes } : {},
  );
  return n;
}

type Names = { clusters: { name: string }[]; users: { name: string }[]; contexts: { name: string; context: { cluster: string; user: string } }[]; 'current-context': string };
const names = (path: string) => parseYaml(readFileSync(path, 'utf8')) as Names;
const kubectl = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });

test('talosctl kubeconfig: merges into $KUBECONFIG, renames clashing names to name-1, kubectl reads the result', async (t) => {
  const tag = { current: 'one' };
  await using n = await kubeNode(tag);
  const path = join(n.dir, 'kube', 'config');
  const saved = process.env['KUBECONFIG'];
  process.env['KUBECONFIG'] = path;
  t.after(() => (saved === undefined ? delete process.env['KUBECONFIG'] : (process.env['KUBECONFIG'] = saved)));

  const first = await n.run('kubeconfig');
  assert.equal(first.code, 0, first.err);
  assert.equal(first.out, '');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, 'utf8'), adminKubeconfig('one'), 'no file yet: written as the node sent it');

  // the same credentials again: nothing clashes, nothing renamed
  assert.equal((await n.run('kubeconfig')).out, '');
  assert.equal(names(path).clusters.length, 1);

  // another cluster of the same name: every part is renamed, and the new context becomes current
  tag.current = 'two';
  const second = await n.run('kubeconfig');
  assert.equal(second.code, 0, second.err);
  assert.equal(second.out, 'renamed cluster "demo" -> "demo-1"\nrenamed auth info "admin@demo" -> "admin@demo-1"\nrenamed context "admin@demo" -> "admin@demo-1"\n');
  const k = names(path);
  assert.deepEqual(k.clusters.map((c) => c.name), ['demo', 'demo-1']);
  assert.deepEqual(k.users.map((c) => c.name), ['admin@demo', 'admin@demo-1']);
  assert.deepEqual(k.contexts.map((c) => [c.name, c.context.cluster, c.context.user]), [
    ['admin@demo', 'demo', 'admin@demo'],
    ['admin@demo-1', 'demo-1', 'admin@demo-1'],
  ]);
  assert.equal(k['current-context'], 'admin@demo-1');

  // a third one with --force overwrites the originals in place
  tag.current = 'three';
  const forced = await n.run('kubeconfig', '--force', '--force-context-name', 'admin@prod');
  assert.equal(forced.code, 0, forced.err);
  const f = names(path);
  assert.deepEqual(f.clusters.map((c) => c.name), ['demo', 'demo-1']);
  assert.deepEqual(f.contexts.map((c) => c.name), ['admin@demo', 'admin@demo-1', 'admin@prod']);
  assert.equal(f['current-context'], 'admin@prod');
  assert.match(readFileSync(path, 'utf8'), new RegExp(Buffer.from('crt-three').toString('base64')));

  if (kubectl.error) {
    t.diagnostic('kubectl is not installed here: the kubectl check was skipped');
    return;
  }
  const view = execFileSync('kubectl', ['config', 'view', '--kubeconfig', path, '-o', 'jsonpath={.current-context} {.contexts[*].name} {.clusters[*].cluster.server}'], { encoding: 'utf8' });
  assert.equal(view, 'admin@prod admin@demo admin@demo-1 admin@prod https://10.5.0.2:6443 https://10.5.0.2:6443');
  const contexts = execFileSync('kubectl', ['config', 'get-contexts', '--kubeconfig', path, '-o', 'name'], { encoding: 'utf8' });
  assert.deepEqual(contexts.trim().split('\n').sort(), ['admin@demo', 'admin@demo-1', 'admin@prod']);
});

test('talosctl kubeconfig --merge=false: to a directory, to stdout with "-", refused over an existing file without --force', async () => {
  await using n = await kubeNode({ current: 'x' });
  const dir = join(n.dir, 'out');
  mkdirSync(dir);
  const r = await n.run('kubeconfig', '--merge=false', dir);
  assert.equal(r.code, 0, r.err);
  assert.equal(readFileSync(join(dir, 'kubeconfig'), 'utf8'), adminKubeconfig('x'));
  const again = await n.run('kubeconfig', '--merge=false', dir);
  assert.equal(again.code, 1);
  assert.match(again.err, /kubeconfig file already exists, use --force to overwrite: ".*out\/kubeconfig"/);
  assert.equal((await n.run('kubeconfig', '--merge=false', '--force', dir)).code, 0);
  const stdout = await n.run('kubeconfig', '--merge=false', '-');
  assert.equal(stdout.out, adminKubeconfig('x'));
  assert.equal(existsSync(join(n.dir, '-')), false);
  const bad = await n.run('kubeconfig', '--merge', 'yes');
  assert.match(bad.err, /invalid argument "yes" for "--merge" flag/);
});

test('talosctl kubeconfig: more than one node is refused before any call; a broken local file is named', async () => {
  await using n = await kubeNode({ current: 'x' }, ['10.5.0.2', '10.5.0.3']);
  const r = await n.run('kubeconfig', join(n.dir, 'k'));
  assert.match(r.err, /command "kubeconfig" requires exactly one node \(got 2\)/);
  assert.equal(n.server.calls.length, 0);
  const broken = join(n.dir, 'broken');
  writeFileSync(broken, 'clusters: {not: a list}\n');
  const b = await n.run('-n', '10.5.0.2', 'kubeconfig', broken);
  assert.equal(b.code, 1);
  assert.match(b.err, /error loading .*broken: .*broken: clusters: must be a list/);
  assert.equal(readFileSync(broken, 'utf8'), 'clusters: {not: a list}\n');
});
