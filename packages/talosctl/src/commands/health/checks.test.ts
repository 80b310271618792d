// Health checks against real machined/apid/trustd processes on loopback (no namespaces needed).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  createTalosClient,
  generateAdminTalosconfig,
  generateMachineConfigs,
  generateSecretsBundle,
  serializeTalosconfig,
  talosClientOptionsFromContext,
  toConfigSecrets,
  type TalosClient,
} from '@talos-ts/machinery';
import { writeFileSync } from 'node:fs';
import { runCli, startNode, tempDir, waitFor, type NodeProcess } from '@talos-ts/testkit';
import { main } from '../../main.ts';
import {
  checkApid,
  checkEtcdHealthy,
  checkEtcdMembersAreControlPlanes,
  checkEtcdMembersConsistent,
  checkKubelet,
  checkServices,
  runHealthChecks,
  type HealthCheck,
  type HealthTarget,
} from './checks.ts';

const [cp, worker, absent] = ['127.0.0.91', '127.0.0.92', '127.0.0.93'] as const;
const tmp = tempDir('health-');
const nodes: NodeProcess[] = [];
let client: TalosClient;
let talosconfig = '';
const target: HealthTarget = { controlPlanes: [cp], workers: [worker] };
const signal = (): AbortSignal => AbortSignal.timeout(10_000);

before(async () => {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'health', endpoint: `https://${cp}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  for (const [address, cfg] of [
    [cp, g.controlplane],
    [worker, g.worker],
  ] as const) {
    nodes.push(await startNode(address, join(tmp.dir, address)));
    const maintenance = createTalosClient({ endpoints: [address], insecure: true });
    try {
      await maintenance.machine.applyConfiguration({ data: Buffer.from(cfg.toYaml()) });
    } finally {
      maintenance.close();
    }
  }
  const tc = await generateAdminTalosconfig({ contextName: 'health', endpoints: [cp], osCa: bundle.certs.os });
  const ctx = tc.contexts['health'];
  assert.ok(ctx);
  client = createTalosClient(talosClientOptionsFromContext(ctx));
  talosconfig = join(tmp.dir, 'talosconfig');
  writeFileSync(talosconfig, serializeTalosconfig(tc));
  await waitFor('apid answering over mTLS on both nodes', async () => (await checkApid(client, target, signal())).kind === 'ok', 60_000);
});

after(async () => {
  client?.close();
  await Promise.all(nodes.map((n) => n.stop()));
  tmp.remove();
});

test('health: apid check passes when every node answers through the endpoint', async () => {
  assert.deepEqual(await checkApid(client, target, signal()), { kind: 'ok' });
});

test('health: apid check names the node that does not answer', async () => {
  const r = await checkApid(client, { controlPlanes: [cp], workers: [worker, absent] }, signal());
  assert.equal(r.kind, 'fail');
  assert.ok(r.kind === 'fail' && r.reason.includes(absent), r.kind === 'fail' ? r.reason : '');
  assert.ok(r.kind === 'fail' && !r.reason.includes(`${worker}:`), 'a healthy node is not blamed');
});

test('health: etcd checks fail before bootstrap and pass once etcd is bootstrapped on the control plane', async () => {
  const before = await checkEtcdHealthy(client, target, signal());
  assert.equal(before.kind, 'fail');
  await client.withNodes([cp]).machine.bootstrap({});
  for (const check of [checkEtcdHealthy, checkEtcdMembersConsistent, checkEtcdMembersAreControlPlanes]) {
    await waitFor(check.name, async () => (await check(client, target, signal())).kind === 'ok', 60_000);
  }
});

test('health: services check passes once apid, trustd and (after bootstrap) etcd are healthy on every node', async () => {
  await waitFor('services healthy', async () => (await checkServices(client, target, signal())).kind === 'ok', 30_000);
  const res = await client.withNodes([cp]).machine.serviceList({});
  assert.ok(res.messages[0]?.services.some((s) => s.id === 'trustd' && s.health?.healthy), 'trustd runs healthy on the control plane');
});

test('health: kubelet check is reported unavailable, not failed, when no node runs a kubelet', async () => {
  const r = await checkKubelet(client, target, signal());
  assert.equal(r.kind, 'unavailable');
});

test('health: runner prints a line per status change and reports unhealthy when a check never passes', async () => {
  let calls = 0;
  const flaky: HealthCheck = {
    description: 'a flaky thing',
    run: async () => (++calls < 3 ? { kind: 'fail', reason: `attempt ${calls}` } : { kind: 'ok' }),
  };
  const never: HealthCheck = { description: 'the impossible', run: async () => ({ kind: 'fail', reason: 'nope' }) };
  const after: HealthCheck = { description: 'apid to be ready', run: checkApid };
  const lines: string[] = [];
  const res = await runHealthChecks(client, target, { checks: [flaky, never, after], timeoutMs: 1500, intervalMs: 50, onLine: (l) => lines.push(l) });
  assert.equal(res.healthy, false);
  assert.deepEqual(lines, [
    'waiting for a flaky thing: attempt 1',
    'waiting for a flaky thing: attempt 2',
    'waiting for a flaky thing: OK',
    'waiting for the impossible: nope',
    'waiting for apid to be ready: OK',
  ]);
  assert.deepEqual(
    res.reports.map((r) => r.outcome.kind),
    ['ok', 'fail', 'ok'],
  );
});

test('talosctl health: says which checks passed and which were skipped and why; never calls Kubernetes healthy unchecked', async () => {
  await waitFor('etcd bootstrapped by the test above', async () => (await checkEtcdHealthy(client, target, signal())).kind === 'ok', 60_000);
  const r = await runCli(main, ['--talosconfig', talosconfig, 'health', '--control-plane-nodes', cp, '--worker-nodes', worker, '--wait-timeout', '2m']);
  assert.equal(r.code, 0, r.err);
  const tail = r.out.trimEnd().split('\n').slice(-3);
  assert.equal(
    tail[0],
    'checks passed (5): apid to be ready, all services to be healthy, etcd to be healthy, etcd members to be consistent across nodes, etcd members to be control plane nodes',
  );
  assert.equal(
    tail[1],
    'checks skipped (4): kubelet to be healthy, all k8s nodes to report, all control plane static pods to be running, all k8s nodes to report ready: ' +
      'no kubelet runs on the nodes (Kubernetes components are not part of Talos-TS machines yet)',
  );
  assert.equal(tail[2], 'Talos is healthy (apid, services, etcd); Kubernetes was not checked');
  assert.doesNotMatch(r.out, /cluster is healthy/);
});
