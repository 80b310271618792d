// Issue 15 (debugging API): Containers, Stats and Restart on a real node whose machined supervises a
// real containerd (`--containerd`), with real containers made through containerd's own API; through
// apid with every role, decoded on the wire with upstream's field numbers, and driven by talosctl.
// The same node serves the client-side commands built on other RPCs: df (Mounts) and cgroups (Copy).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from '@grpc/grpc-js';
import { Code, hasCode } from '@talos-ts/cosi';
import {
  commonPb,
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
import { callUnary, rawClient } from '../../packages/apid/bench/fixtures.ts';
import { containerdFixture, type ContainerdFixture } from './containerd-fixture.ts';
import { fields, num, str, subs, type Fields } from './wire-reader.ts';

const cp = '127.0.0.95';
const tmp = tempDir('it-ctr-');
let node: NodeProcess | undefined;
let fixture: ContainerdFixture | undefined;
let bundle: SecretsBundle;
let talosconfig = '';
/** The sleeper's task pid, as containerd reported it at start. */
let sleeperPid = 0;

async function talosctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--talosconfig', talosconfig, '-e', cp, '-n', cp, ...args], { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

async function clientWithRoles(roles: string[]): Promise<TalosClient> {
  const pair = await generateClientCertificate({ osCa: bundle.certs.os, roles, validitySeconds: 3600 });
  return createTalosClient({ endpoints: [cp], nodes: [cp], caPem: bundle.certs.os.crt, crtPem: pair.crt, keyPem: pair.key, maxAttempts: 1 });
}

/** CRI labels of a container `app` in pod `default/web`. */
const podLabels = { 'io.kubernetes.pod.name': 'web', 'io.kubernetes.pod.namespace': 'default' };

before(async () => {
  bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'it-ctr', endpoint: `https://${cp}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  writeFileSync(join(tmp.dir, 'controlplane.yaml'), g.controlplane.toYaml());
  writeFileSync(join(tmp.dir, 'secrets.yaml'), serializeSecretsBundle(bundle));
  talosconfig = join(tmp.dir, 'talosconfig');
  const out: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
  assert.equal(await main(['gen', 'config', 'it-ctr', `https://${cp}:6443`, '-t', 'talosconfig', '-o', talosconfig, '--with-secrets', join(tmp.dir, 'secrets.yaml')], io), 0, out.join(''));
  node = await startNode(cp, join(tmp.dir, 'node'), { args: ['--containerd', '/usr/bin/containerd'] });
  assert.equal(await main(['apply-config', '--insecure', '-n', cp, '-f', join(tmp.dir, 'controlplane.yaml')], io), 0, out.join(''));
  await waitFor('apid', async () => (await talosctl('version')).code === 0, 60_000);
  // containerd is one of the node's services, health-checked over its own gRPC socket.
  await waitFor('containerd healthy', async () => /HEALTH\s+OK/.test((await talosctl('service', 'containerd')).out), 60_000);

  fixture = containerdFixture(join(node.dir, 'system', 'run', 'containerd', 'containerd.sock'), join(tmp.dir, 'roots'));
  sleeperPid = (await fixture.create({ namespace: 'system', id: 'sleeper', image: 'example.org/sleeper:1.0', task: true })) ?? 0;
  // A container record without a task: upstream lists only containers that have one.
  await fixture.create({ namespace: 'system', id: 'record-only', task: false });
  await fixture.create({ namespace: 'k8s.io', id: 'sandbox0', image: 'registry.k8s.io/pause:3.10', labels: podLabels, task: true });
  await fixture.create({ namespace: 'k8s.io', id: 'app0', image: 'example.org/app:2', labels: { ...podLabels, 'io.kubernetes.container.name': 'app' }, task: true });
});

after(async () => {
  await fixture?.[Symbol.asyncDispose]();
  if (node) {
    await node.stop();
    assert.deepEqual(processesUsing(node.dir), [], 'processes left behind (containerd, shims)');
  }
  tmp.remove();
});

const A = 'os:admin';
const O = 'os:operator';
const R = 'os:reader';
const E = 'os:etcd:backup';
const system = { namespace: 'system', driver: commonPb.ContainerDriver.CONTAINERD };

test('containers API: Containers, Stats × every role get the upstream outcome; Restart is refused to readers', async () => {
  // Restart is checked with an unknown id: an allowed role reaches containerd (NotFound), a refused one never does.
  const matrix: { name: string; call: (c: TalosClient) => Promise<unknown>; allowed: string[] }[] = [
    { name: 'Containers', call: (c) => c.machine.containers(system), allowed: [A, O, R] },
    { name: 'Stats', call: (c) => c.machine.stats(system), allowed: [A, O, R] },
    { name: 'Restart', call: (c) => c.withNode(cp).machine.restart({ ...system, id: 'no-such-container' }), allowed: [A, O] },
  ];
  const failures: string[] = [];
  for (const [label, roles] of [[A, [A]], [O, [O]], [R, [R]], [E, [E]], ['no role', []]] as const) {
    const c = await clientWithRoles([...roles]);
    try {
      for (const m of matrix) {
        let outcome: 'allowed' | 'denied';
        try {
          await m.call(c);
          outcome = 'allowed';
        } catch (err) {
          if (hasCode(err, Code.PermissionDenied)) outcome = 'denied';
          else if (m.name === 'Restart' && hasCode(err, Code.NotFound)) outcome = 'allowed';
          else {
            failures.push(`${label} ${m.name}: unexpected ${(err as Error).message}`);
            outcome = 'denied';
          }
        }
        const want = m.allowed.includes(label) ? 'allowed' : 'denied';
        if (outcome !== want) failures.push(`${label} ${m.name}: ${outcome}, want ${want}`);
      }
    } finally {
      c.close();
    }
  }
  assert.deepEqual(failures, []);
});

/** ContainersRequest / StatsRequest: namespace=1 (string), driver=2 (enum; CONTAINERD=0 is not sent). */
function namespaceRequest(namespace: string, driver: number): Buffer {
  const ns = Buffer.from(namespace);
  return Buffer.concat([Buffer.from([(1 << 3) | 2, ns.length]), ns, driver === 0 ? Buffer.alloc(0) : Buffer.from([2 << 3, driver])]);
}

test('containers API: replies decode with upstream field numbers (raw gRPC client, hand-written wire reader)', async (t) => {
  const pair = await generateClientCertificate({ osCa: bundle.certs.os, roles: [R], validitySeconds: 600 });
  const keyPem = pair.key.replace(/ED25519 PRIVATE KEY/g, 'PRIVATE KEY');
  const client: Client = rawClient(`${cp}:50000`, { caPem: bundle.certs.os.crt, certPem: pair.crt, keyPem });
  t.after(() => client.close());
  const unary = async (method: string, req: Buffer): Promise<Fields> => {
    const r = await callUnary(client, `/machine.MachineService/${method}`, req, undefined, 20_000);
    assert.ok(r.ok, `${method}: ${r.ok ? '' : r.details}`);
    return fields(r.messages[0] as Buffer);
  };

  // ContainersResponse.messages=1 → Container.containers=2 → ContainerInfo{namespace=1, id=2, image=3,
  // pid=4, status=5, pod_id=6, name=7, internal_id=9}
  const sys = subs(subs(await unary('Containers', namespaceRequest('system', 0)), 1)[0] as Fields, 2);
  assert.deepEqual(sys.map((c) => str(c, 2)), ['sleeper'], 'only containers with a task are listed');
  const sleeper = sys[0] as Fields;
  assert.equal(str(sleeper, 1), 'system');
  assert.equal(str(sleeper, 3), 'example.org/sleeper:1.0');
  assert.equal(num(sleeper, 4), BigInt(sleeperPid));
  assert.equal(str(sleeper, 5), 'RUNNING');
  assert.equal(str(sleeper, 6), 'sleeper');
  assert.equal(str(sleeper, 7), 'sleeper');
  assert.equal(str(sleeper, 9), 'sleeper');

  // The k8s.io namespace through the CRI driver (=1): pod containers are named <namespace>/<pod>[:<container>].
  const k8s = subs(subs(await unary('Containers', namespaceRequest('k8s.io', 1)), 1)[0] as Fields, 2);
  const byId = new Map(k8s.map((c) => [str(c, 2), c]));
  assert.deepEqual([...byId.keys()].sort(), ['default/web', 'default/web:app']);
  const app = byId.get('default/web:app') as Fields;
  assert.equal(str(app, 6), 'default/web');
  assert.equal(str(app, 7), 'app');
  assert.equal(str(app, 9), 'app0');
  assert.equal(str(app, 3), 'example.org/app:2');

  // StatsResponse.messages=1 → Stats.stats=2 → Stat{namespace=1, id=2, memory_usage=4, cpu_usage=5, pod_id=6, name=7}
  const stats = subs(subs(await unary('Stats', namespaceRequest('system', 0)), 1)[0] as Fields, 2);
  const st = stats.find((s) => str(s, 2) === 'sleeper');
  assert.ok(st, 'the running container has stats');
  assert.equal(str(st, 1), 'system');
  assert.equal(str(st, 6), 'sleeper');
  assert.equal(str(st, 7), 'sleeper');
  assert.ok(num(st, 4) > 0n, 'memory in use');
  assert.ok(num(st, 5) > 0n, 'CPU time spent starting sleep');
});

test('containers API: bad namespace and driver combinations are refused as upstream', async () => {
  const c = await clientWithRoles([A]);
  const one = c.withNode(cp);
  try {
    await assert.rejects(one.machine.containers({ namespace: '', driver: commonPb.ContainerDriver.CONTAINERD }), (e) => hasCode(e, Code.InvalidArgument) && /namespace can't be empty/.test((e as Error).message));
    await assert.rejects(one.machine.stats({ namespace: 'system', driver: commonPb.ContainerDriver.CRI }), (e) => hasCode(e, Code.InvalidArgument) && /CRI inspector is supported only for K8s namespace/.test((e as Error).message));
    await assert.rejects(one.machine.restart({ ...system, id: 'record-only' }), (e) => hasCode(e, Code.NotFound) && /container "record-only" not found/.test((e as Error).message));
  } finally {
    c.close();
  }
});

// ---- talosctl, as a user runs it.

test('talosctl containers and stats: tables as upstream prints them, -k for the k8s.io namespace', async () => {
  const ctrs = await talosctl('containers');
  assert.equal(ctrs.code, 0, ctrs.err);
  assert.match(ctrs.out, /^NODE\s+NAMESPACE\s+ID\s+IMAGE\s+PID\s+STATUS\n/);
  assert.match(ctrs.out, new RegExp(`^127\\.0\\.0\\.95\\s+system\\s+sleeper\\s+example\\.org/sleeper:1\\.0\\s+${sleeperPid}\\s+RUNNING$`, 'm'));
  assert.doesNotMatch(ctrs.out, /record-only/);

  const k = await talosctl('c', '-k');
  assert.equal(k.code, 0, k.err);
  const lines = k.out.trim().split('\n').slice(1);
  assert.equal(lines.length, 2);
  assert.match(lines[0] as string, /\sk8s\.io\s+default\/web\s+registry\.k8s\.io\/pause:3\.10\s+\d+\s+RUNNING$/);
  assert.match(lines[1] as string, /\sk8s\.io\s+└─ default\/web:app\s+example\.org\/app:2\s+\d+\s+RUNNING$/);

  const stats = await talosctl('stats');
  assert.equal(stats.code, 0, stats.err);
  assert.match(stats.out, /^NODE\s+NAMESPACE\s+ID\s+MEMORY\(MB\)\s+CPU\n/);
  assert.match(stats.out, /^127\.0\.0\.95\s+system\s+sleeper\s+\d+\.\d\d\s+[1-9]\d*$/m);
});

test('talosctl cgroups: the node\'s cgroup v2 tree with upstream\'s preset columns; processes resolved by name', async () => {
  const proc = await talosctl('cgroups', '--preset', 'process');
  assert.equal(proc.code, 0, proc.err);
  assert.match(proc.out, /^NAME\s+PidsCurrent\s+PidsPeak\s+PidsMax\s+Procs\s+Threads\s+Processes\s+Bytes Read\/Written\s+ios Read\/Write\s+PressAvg10\s+PressAvg60\s+PressTotal\n\.\s/);
  // The sleeper's cgroup (named by the fixture), holding one process that resolves to its executable.
  assert.match(proc.out, /^[│ ]*[├└]──talos-ts-it-[^\s]*-system-sleeper\s.*\s1\s+1\s+\[sleep\]/m);

  const cpu = await talosctl('cg', '--preset=cpu');
  assert.equal(cpu.code, 0, cpu.err);
  assert.match(cpu.out, /^NAME\s+CpuWeight\s+CpuNice\s+CpuMax\s+CpuUser\s+User\/%\s+CpuSystem\s+System\/%\s+Throttled\n/);
  assert.match(cpu.out, /^\.\s.*\s(\d+h)?(\d+m)?[\d.]+(s|ms|µs)\s+-\s/m, 'the root row: CPU time spent, no parent share');

  const none = await talosctl('cgroups');
  assert.equal(none.code, 1);
  assert.match(none.err, /either schema file or preset must be specified/);
  const bad = await talosctl('cgroups', '--preset', 'gpu');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /invalid preset name: gpu \(valid \[cpu cpuset io memory process psi swap\]\)/);
});

test('talosctl restart: the task gets SIGTERM (its supervisor would start it again); an unknown id is an error', async () => {
  const missing = await talosctl('restart', 'nope');
  assert.equal(missing.code, 1);
  assert.match(missing.err, /container "nope" not found/);

  const k8s = await talosctl('restart', '-k', 'default/web:app');
  assert.equal(k8s.code, 0, k8s.err);
  const r = await talosctl('restart', 'sleeper');
  assert.equal(r.code, 0, r.err);
  const f = fixture as ContainerdFixture;
  // Nothing supervises the test's tasks, so they stay stopped with the status a SIGTERM leaves.
  const exit = await f.tasks.wait({ containerId: 'sleeper' }, f.ns('system'));
  assert.equal(exit.exitStatus, 128 + 15);
  assert.equal((await f.tasks.wait({ containerId: 'app0' }, f.ns('k8s.io'))).exitStatus, 128 + 15);
  const after = await talosctl('containers');
  assert.match(after.out, /\ssleeper\s+.*\sSTOPPED$/m);
  const sandbox = await talosctl('containers', '-k');
  assert.match(sandbox.out, /\sdefault\/web\s+.*\sRUNNING$/m, 'the sandbox was not touched');
});

test('talosctl df: upstream columns from the Mounts API; -b prints bytes; a path that is no mount point, or --inodes, is a clear error', async () => {
  const df = await talosctl('df');
  assert.equal(df.code, 0, df.err);
  assert.match(df.out, /^NODE\s+VOLUME\s+FILESYSTEM\s+SIZE\s+USED\s+AVAILABLE\s+USAGE\s+MOUNT POINT\n/);
  assert.match(df.out, /^127\.0\.0\.95\s+-\s+\S+\s+[\d.]+[KMGTPE]?i?B\s+[\d.]+[KMGTPE]?i?B\s+[\d.]+[KMGTPE]?i?B\s+(\d+%|-)\s+\/$/m);
  assert.doesNotMatch(df.out, /\s\/proc$/m, 'pseudo filesystems have no size and are left out');

  // The node's root is this host's in container mode: its size is what statfs says here.
  const root = await talosctl('diskfree', '--bytes', '/');
  assert.equal(root.code, 0, root.err);
  const rows = root.out.trim().split('\n').slice(1);
  assert.equal(rows.length, 1);
  const st = statfsSync('/', { bigint: true });
  const [, , , size] = (rows[0] as string).split(/\s+/);
  assert.equal(size, String(st.blocks * st.bsize));

  const nope = await talosctl('df', '/no/such/mount');
  assert.equal(nope.code, 1);
  assert.match(nope.err, /"\/no\/such\/mount" is not a mount point/);
  const inodes = await talosctl('df', '-i');
  assert.equal(inodes.code, 1);
  assert.match(inodes.err, /--inodes is not available yet/);
});
