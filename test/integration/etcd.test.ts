// Issue 6 acceptance: the real etcd on three control-plane nodes (real machined/apid/trustd/etcd
// processes on loopback), bootstrapped with talosctl and checked with Debian's etcdctl.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code, hasCode } from '@talos-ts/cosi';
import {
  createTalosClient,
  generateClientCertificate,
  generateMachineConfigs,
  generateSecretsBundle,
  serializeSecretsBundle,
  toConfigSecrets,
  type SecretsBundle,
  type TalosClient,
} from '@talos-ts/machinery';
import { main } from '@talos-ts/talosctl';
import { processesUsing, startNode, tempDir, waitFor, type NodeProcess } from '@talos-ts/testkit';

const addrs = ['127.0.0.81', '127.0.0.82', '127.0.0.83'] as const;
const [n1, n2, n3] = addrs;
const tmp = tempDir('it-etcd-');
const nodes = new Map<string, NodeProcess>();
let bundle: SecretsBundle;
let talosconfig = '';
let certsDir = '';

async function talosctl(node: string, ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--talosconfig', talosconfig, '-e', node, '-n', node, ...args], { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

/** Debian's etcdctl against the given members with the admin certificate machined issued. */
function etcdctl(endpoints: readonly string[], ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(
    'etcdctl',
    [
      `--endpoints=${endpoints.map((a) => `https://${a}:2379`).join(',')}`,
      `--cacert=${join(certsDir, 'ca.crt')}`,
      `--cert=${join(certsDir, 'admin.crt')}`,
      `--key=${join(certsDir, 'admin.key')}`,
      '--dial-timeout=2s',
      '--command-timeout=5s',
      ...args,
    ],
    { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 15_000 },
  );
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** `member list` lines as [id, status, name, peer, client, learner]. */
function members(endpoints: readonly string[]): string[][] {
  const r = etcdctl(endpoints, 'member', 'list');
  if (r.code !== 0) throw new Error(r.err);
  return r.out
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(', '));
}

function startedVoters(endpoints: readonly string[]): number {
  return members(endpoints).filter((m) => m[1] === 'started' && m[5] === 'false').length;
}

function etcdPid(dir: string): number | undefined {
  return processesUsing(dir).find((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('etcd') ?? false;
    } catch {
      return false;
    }
  });
}

before(async () => {
  bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'it-etcd', endpoint: `https://${n1}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  writeFileSync(join(tmp.dir, 'controlplane.yaml'), g.controlplane.toYaml());
  writeFileSync(join(tmp.dir, 'secrets.yaml'), serializeSecretsBundle(bundle));
  talosconfig = join(tmp.dir, 'talosconfig');
  const out: string[] = [];
  const code = await main(['gen', 'config', 'it-etcd', `https://${n1}:6443`, '-t', 'talosconfig', '-o', talosconfig, '--with-secrets', join(tmp.dir, 'secrets.yaml')], {
    out: (t) => void out.push(t),
    err: (t) => void out.push(t),
  });
  assert.equal(code, 0, out.join(''));
  await Promise.all(addrs.map(async (a) => nodes.set(a, await startNode(a, join(tmp.dir, a)))));
  for (const a of addrs) {
    const out: string[] = [];
    const c = await main(['apply-config', '--insecure', '-n', a, '-f', join(tmp.dir, 'controlplane.yaml')], { out: (t) => void out.push(t), err: (t) => void out.push(t) });
    assert.equal(c, 0, out.join(''));
  }
  certsDir = join(tmp.dir, n1, 'system', 'secrets', 'etcd');
  await waitFor('etcd certificates on every node', () => addrs.every((a) => existsSync(join(tmp.dir, a, 'system', 'secrets', 'etcd', 'admin.key'))), 30_000);
});

after(async () => {
  const dirs = [...nodes.values()].map((n) => n.dir);
  await Promise.all([...nodes.values()].map((n) => n.stop()));
  for (const d of dirs) assert.deepEqual(processesUsing(d), [], `processes left behind under ${d}`);
  tmp.remove();
});

test('etcd: bootstrap of the first node, the other control planes join by themselves as voting members', async () => {
  await waitFor('apid on every node', async () => (await Promise.all(addrs.map((a) => talosctl(a, 'version')))).every((r) => r.code === 0), 30_000);
  const started = Date.now();
  const b = await talosctl(n1, 'bootstrap');
  assert.equal(b.code, 0, b.err);
  await waitFor('3 started voting etcd members', () => startedVoters(addrs) === 3, 60_000);
  const seconds = (Date.now() - started) / 1000;
  process.stdout.write(`# etcd: 3 healthy members ${seconds.toFixed(1)} s after bootstrap\n`);

  const list = members(addrs);
  assert.deepEqual(list.map((m) => m[3]).sort(), addrs.map((a) => `https://${a}:2380`));
  const health = etcdctl(addrs, 'endpoint', 'health');
  assert.equal(health.code, 0, health.err + health.out);

  const t = await talosctl(n2, 'etcd', 'members');
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /^NODE\s+ID\s+HOSTNAME\s+PEER URLS\s+CLIENT URLS\s+LEARNER\n/);
  for (const a of addrs) assert.match(t.out, new RegExp(`[0-9a-f]{16}\\s+\\S+\\s+https://${a.replace(/\./g, '\\.')}:2380\\s+https://${a.replace(/\./g, '\\.')}:2379\\s+false`));

  await waitFor('etcd service healthy on every node', async () => {
    const rs = await Promise.all(addrs.map((a) => talosctl(a, 'service', 'etcd')));
    return rs.every((r) => r.code === 0 && /STATE\s+Running/.test(r.out) && /HEALTH\s+OK/.test(r.out));
  }, 30_000);
  const st = await talosctl(n1, 'etcd', 'status');
  assert.equal(st.code, 0, st.err);
  assert.match(st.out, /^NODE\s+MEMBER\s+DB SIZE\s+IN USE\s+LEADER\s+RAFT INDEX\s+RAFT TERM\s+RAFT APPLIED INDEX\s+LEARNER\s+ERRORS\n127\.0\.0\.81\s+[0-9a-f]{16}\s+/);
});

async function adminClient(node: string): Promise<TalosClient> {
  const pair = await generateClientCertificate({ osCa: bundle.certs.os, roles: ['os:admin'], validitySeconds: 600 });
  return createTalosClient({ endpoints: [node], caPem: bundle.certs.os.crt, crtPem: pair.crt, keyPem: pair.key });
}

test('etcd: a second bootstrap is refused on the bootstrapped node and on a joined node', async () => {
  for (const a of [n1, n2]) {
    const r = await talosctl(a, 'bootstrap');
    assert.notEqual(r.code, 0);
    assert.match(r.err, /etcd data directory is not empty/);
  }
  // The API answers FailedPrecondition with the reason.
  const c = await adminClient(n1);
  await assert.rejects(c.withNodes([]).machine.bootstrap({}), (e) => hasCode(e, Code.AlreadyExists) && /already bootstrapped/.test((e as Error).message));
  c.close();
});

test('etcd: a key survives kill -9 of one etcd process and of a whole node, which rejoins by itself', async () => {
  const put = etcdctl(addrs, 'put', 'it/key', 'survives');
  assert.equal(put.code, 0, put.err);

  const dir3 = join(tmp.dir, n3);
  const pid = etcdPid(dir3);
  assert.ok(pid, 'etcd of the third node runs');
  process.kill(pid, 'SIGKILL');
  assert.equal(etcdctl([n1, n2], 'get', 'it/key', '--print-value-only').out.trim(), 'survives');
  await waitFor('etcd restarted on the third node', () => {
    const p = etcdPid(dir3);
    return p !== undefined && p !== pid && etcdctl([n3], 'endpoint', 'health').code === 0;
  }, 30_000);

  // The whole node goes: machined and everything it started.
  const node3 = nodes.get(n3);
  assert.ok(node3);
  node3.child.kill('SIGKILL');
  await new Promise((r) => node3.child.once('exit', r));
  for (const p of processesUsing(dir3)) process.kill(p, 'SIGKILL');
  await waitFor('third node gone', () => processesUsing(dir3).length === 0, 10_000);
  assert.equal(etcdctl([n1, n2], 'get', 'it/key', '--print-value-only').out.trim(), 'survives');

  nodes.set(n3, await startNode(n3, dir3));
  await waitFor('third node back as a started voting member', () => etcdctl([n3], 'endpoint', 'health').code === 0 && startedVoters(addrs) === 3, 60_000);
  assert.equal(members(addrs).length, 3);
  assert.equal(etcdctl([n3], 'get', 'it/key', '--print-value-only').out.trim(), 'survives');
  // The next cases talk to this node through its API: etcd may be back before apid is.
  await waitFor('apid on the restarted node', async () => (await talosctl(n3, 'version')).code === 0, 60_000);
});

test('etcd: talosctl etcd snapshot writes a snapshot etcdctl accepts', async () => {
  const path = join(tmp.dir, 'etcd.snapshot');
  const r = await talosctl(n1, 'etcd', 'snapshot', path);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /etcd snapshot saved to ".*etcd\.snapshot" \(\d+ bytes\)/);
  assert.ok(!existsSync(`${path}.part`));
  const status = JSON.parse(execFileSync('etcdctl', ['snapshot', 'status', path, '-w', 'json'], { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8' })) as { totalKey: number };
  assert.ok(status.totalKey > 0, `snapshot has keys: ${JSON.stringify(status)}`);
});

test('etcd: talosctl etcd leave leaves two members; leaving without quorum is refused', async () => {
  const r = await talosctl(n3, 'etcd', 'leave');
  assert.equal(r.code, 0, r.err);
  await waitFor('two members', () => members([n1, n2]).length === 2 && startedVoters([n1, n2]) === 2, 15_000);
  assert.ok(!members([n1, n2]).some((m) => m[3] === `https://${n3}:2380`));
  assert.equal(etcdctl([n1, n2], 'get', 'it/key', '--print-value-only').out.trim(), 'survives');

  // With the second member's etcd stopped, the first leaving would leave no healthy voter.
  const stop = await talosctl(n2, 'service', 'etcd', 'stop');
  assert.equal(stop.code, 0, stop.err);
  const refused = await talosctl(n1, 'etcd', 'leave');
  assert.notEqual(refused.code, 0);
  assert.match(refused.err, /would lose quorum/);
});

test('etcd: bootstrap --recover-from restores a snapshot on a node without etcd data as a new one-member cluster', async () => {
  // The third node left above: its data is gone and its etcd is stopped.
  const r = await talosctl(n3, 'bootstrap', '--recover-from', join(tmp.dir, 'etcd.snapshot'));
  assert.equal(r.code, 0, r.err);
  await waitFor('restored member answers', () => etcdctl([n3], 'endpoint', 'health').code === 0, 30_000);
  assert.equal(etcdctl([n3], 'get', 'it/key', '--print-value-only').out.trim(), 'survives');
  const list = members([n3]);
  assert.equal(list.length, 1);
  assert.equal(list[0]?.[3], `https://${n3}:2380`);
  const again = await talosctl(n3, 'bootstrap');
  assert.notEqual(again.code, 0);
  assert.match(again.err, /etcd data directory is not empty/);
});

test('etcd: a graceful reset leaves etcd first, and is refused when this node is the only voting member', async () => {
  const r = await talosctl(n3, 'reset', '--graceful', 'true');
  assert.notEqual(r.code, 0);
  assert.match(r.err, /only voting member/);
  assert.equal(etcdctl([n3], 'get', 'it/key', '--print-value-only').out.trim(), 'survives', 'nothing was wiped');
});
