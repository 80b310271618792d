// Issue 6 acceptance: `talosctl cluster create` (process provisioner) builds a cluster in network
// namespaces, health reports it, the loopback forwards reach it, and `destroy` leaves nothing.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseTalosconfig } from '@talos-ts/machinery';
import { main } from '@talos-ts/talosctl';
import { processesUsing, tempDir, clusterNamespaces, runCli, waitFor } from '@talos-ts/testkit';

const isRoot = process.getuid?.() === 0;
const hasIp = (() => {
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const skip = !isRoot ? 'needs root: the process provisioner creates network namespaces' : !hasIp ? 'needs iproute2 (ip)' : false;

const name = 'it-cluster';
// A network of its own so a developer's talos-default (10.5.0.0/24) can keep running.
const cidr = '10.97.0.0/24';
const tmp = tempDir('it-cluster-');
const stateRoot = join(tmp.dir, 'clusters');
const talosconfig = join(tmp.dir, 'talosconfig');

const talosctl = (...args: string[]) => runCli(main, ['--talosconfig', talosconfig, ...args]);

const namespaces = (): string[] => clusterNamespaces(name);

after(async () => {
  // Whatever happened above, leave nothing behind (destroy is idempotent).
  if (!skip) await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  tmp.remove();
});

test('cluster: create 3 control planes + 1 worker → health → etcdctl sees 3 members → version through the forwards → destroy leaves nothing', { skip, timeout: 300_000 }, async () => {
  const started = Date.now();
  const created = await talosctl('cluster', 'create', '--name', name, '--state', stateRoot, '--cidr', cidr, '--controlplanes', '3', '--workers', '1', '--wait-timeout', '120s');
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  process.stderr.write(`# cluster create took ${seconds}s\n${created.out}${created.err}`);
  // The nodes, network and forwards exist whatever the etcd checks say.
  assert.match(created.out, /waiting for apid to be ready: OK/);
  assert.match(created.out, /waiting for all services to be healthy: OK/);
  assert.match(created.out, /waiting for kubelet to be healthy: not available: /);
  assert.equal(created.code, 0, created.err);
  assert.match(created.out, /waiting for etcd to be healthy: OK/);
  assert.match(created.out, /waiting for etcd members to be control plane nodes: OK/);

  assert.deepEqual(namespaces().sort(), [
    `talos-${name}`,
    `talos-${name}-controlplane-1`,
    `talos-${name}-controlplane-2`,
    `talos-${name}-controlplane-3`,
    `talos-${name}-worker-1`,
  ]);
  const cfg = parseTalosconfig(readFileSync(talosconfig, 'utf8'));
  assert.ok('value' in cfg);
  const ctx = cfg.value.contexts[name];
  assert.equal(cfg.value.context, name);
  assert.deepEqual(ctx?.nodes, ['10.97.0.2', '10.97.0.3', '10.97.0.4', '10.97.0.5']);
  assert.match(ctx?.endpoints[0] ?? '', /^127\.0\.0\.1:\d+$/);

  const show = await talosctl('cluster', 'show', '--name', name, '--state', stateRoot);
  assert.equal(show.code, 0, show.err);
  assert.match(show.out, /it-cluster-controlplane-1\s+controlplane\s+10\.97\.0\.2\s+127\.0\.0\.1:\d+\s+\d+\s+running/);
  assert.match(show.out, /it-cluster-controlplane-3\s+controlplane\s+10\.97\.0\.4\s+127\.0\.0\.1:\d+\s+\d+\s+running/);
  assert.match(show.out, /it-cluster-worker-1\s+worker\s+10\.97\.0\.5\s+127\.0\.0\.1:\d+\s+\d+\s+running/);

  const version = await talosctl('version');
  assert.equal(version.code, 0, version.err);
  assert.match(version.out, /NODE:\s+10\.97\.0\.2\n\tTag:\s+v\d/);
  assert.match(version.out, /NODE:\s+10\.97\.0\.5\n\tTag:\s+v\d/);

  const health = await talosctl('health', '--state', stateRoot, '--wait-timeout', '20s');
  assert.equal(health.code, 0, health.err);
  assert.match(health.out, /waiting for all services to be healthy: OK/);
  // Each node owns its namespace: its controllers hold the provisioner's ip= address and route as
  // cmdline specs (one default route, not a second one), and put an address removed by hand back.
  const specs = await talosctl('-n', '10.97.0.5', 'get', 'addressspecs');
  assert.equal(specs.code, 0, specs.err);
  assert.match(specs.out, /eth0\/10\.97\.0\.5\/24/);
  const workerNs = `talos-${name}-worker-1`;
  const defaults = () => execFileSync('ip', ['-n', workerNs, 'route', 'show', 'default'], { encoding: 'utf8' }).trim().split('\n');
  const routes = defaults();
  assert.equal(routes.length, 1, routes.join('\n'));
  assert.match(routes[0] ?? '', /^default via 10\.97\.0\.1 dev eth0 .*metric 1024/);
  execFileSync('ip', ['-n', workerNs, 'addr', 'del', '10.97.0.5/24', 'dev', 'eth0']);
  await waitFor('the worker to put its address back', () => execFileSync('ip', ['-n', workerNs, '-4', 'addr', 'show', 'dev', 'eth0'], { encoding: 'utf8' }).includes('10.97.0.5/24'), 10_000);
  const members = await talosctl('-n', '10.97.0.2', 'etcd', 'members');
  assert.equal(members.code, 0, members.err);
  // Debian's etcdctl, inside the cluster network, with the admin client certificate of node 1.
  const certs = join(stateRoot, name, `${name}-controlplane-1`, 'system', 'secrets', 'etcd');
  const etcdctl = execFileSync(
    'ip',
    ['netns', 'exec', `talos-${name}`, 'etcdctl', '--endpoints', 'https://10.97.0.2:2379', '--cacert', join(certs, 'ca.crt'), '--cert', join(certs, 'admin.crt'), '--key', join(certs, 'admin.key'), '-w', 'simple', 'member', 'list'],
    { encoding: 'utf8', env: { ...process.env, ETCDCTL_API: '3' }, timeout: 20_000 },
  );
  const startedMembers = etcdctl.trim().split('\n').filter((l) => /, started, /.test(l));
  assert.equal(startedMembers.length, 3, etcdctl);
  for (const ip of ['10.97.0.2', '10.97.0.3', '10.97.0.4']) assert.match(etcdctl, new RegExp(`https://${ip.replace(/\./g, '\\.')}:2380`));

  const dir = join(stateRoot, name);
  const destroyed = await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  assert.equal(destroyed.code, 0, destroyed.err);
  assert.deepEqual(namespaces(), [], 'no namespace left');
  assert.deepEqual(processesUsing(dir), [], 'no process left');
  assert.equal(existsSync(dir), false, 'state dir removed');
  const after = parseTalosconfig(readFileSync(talosconfig, 'utf8'));
  assert.ok('value' in after && !(name in after.value.contexts), 'context removed');

  const again = await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  assert.equal(again.code, 0, again.err);
  assert.match(again.out, /does not exist: nothing to do/);
});

test('cluster: show names a missing cluster', { skip }, async () => {
  const show = await talosctl('cluster', 'show', '--name', 'no-such-cluster', '--state', stateRoot);
  assert.equal(show.code, 1);
  assert.match(show.err, /cluster "no-such-cluster" not found/);
});
