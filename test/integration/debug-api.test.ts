// Issue 15 (debugging API): the file, process, socket and etcd maintenance RPCs on a real node
// (machined + apid + etcd processes on loopback), through apid with every role, decoded on the wire
// with upstream's field numbers, and driven through talosctl as a user would.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import type { Client } from '@grpc/grpc-js';
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
import { callStream, callUnary, rawClient } from '../../packages/apid/bench/fixtures.ts';
import { pollNode } from '../../packages/talosctl/src/commands/dashboard/source.ts';
import { encodeString, fields, num, str, subs, type Fields } from './wire-reader.ts';

const cp = '127.0.0.94';
const tmp = tempDir('it-debug-');
let node: NodeProcess | undefined;
let bundle: SecretsBundle;
let talosconfig = '';
/** A small tree on the host (the node's filesystem in container mode) for the file RPCs. */
let tree = '';

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

before(async () => {
  bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'it-debug', endpoint: `https://${cp}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  writeFileSync(join(tmp.dir, 'controlplane.yaml'), g.controlplane.toYaml());
  writeFileSync(join(tmp.dir, 'secrets.yaml'), serializeSecretsBundle(bundle));
  talosconfig = join(tmp.dir, 'talosconfig');
  const out: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: (t: string) => void out.push(t) };
  assert.equal(await main(['gen', 'config', 'it-debug', `https://${cp}:6443`, '-t', 'talosconfig', '-o', talosconfig, '--with-secrets', join(tmp.dir, 'secrets.yaml')], io), 0, out.join(''));
  node = await startNode(cp, join(tmp.dir, 'node'));
  assert.equal(await main(['apply-config', '--insecure', '-n', cp, '-f', join(tmp.dir, 'controlplane.yaml')], io), 0, out.join(''));
  await waitFor('apid', async () => (await talosctl('version')).code === 0, 30_000);
  const b = await talosctl('bootstrap');
  assert.equal(b.code, 0, b.err);
  await waitFor('etcd healthy', async () => /HEALTH\s+OK/.test((await talosctl('service', 'etcd')).out), 60_000);

  tree = join(tmp.dir, 'tree');
  mkdirSync(join(tree, 'sub', 'deeper'), { recursive: true });
  writeFileSync(join(tree, 'hello.txt'), 'hello from the node\n');
  writeFileSync(join(tree, 'sub', 'data.bin'), Buffer.alloc(70_000, 7));
  writeFileSync(join(tree, 'sub', 'deeper', 'leaf.txt'), 'leaf\n');
  symlinkSync('hello.txt', join(tree, 'link'));
  execFileSync('mkfifo', [join(tree, 'pipe')]);
});

after(async () => {
  if (node) {
    await node.stop();
    assert.deepEqual(processesUsing(node.dir), [], 'processes left behind');
  }
  tmp.remove();
});

// ---- RBAC through apid: expected outcomes written out by hand from upstream's role table.

const A = 'os:admin';
const O = 'os:operator';
const R = 'os:reader';
const E = 'os:etcd:backup';
/** Reads a stream to its end; a node's error carried in metadata (one-to-many proxying) is thrown. */
const drain = async (s: AsyncIterable<{ metadata?: { error: string } | undefined }>): Promise<void> => {
  for await (const m of s) {
    if (m.metadata?.error) throw new Error(`node error: ${m.metadata.error}`);
  }
};
type Call = (c: TalosClient) => Promise<unknown>;
const matrix: { name: string; call: Call; allowed: string[] }[] = [
  { name: 'Read', call: (c) => drain(c.machine.read({ path: join(tree, 'hello.txt') })), allowed: [A] },
  { name: 'Copy', call: (c) => drain(c.machine.copy({ rootPath: tree })), allowed: [A] },
  { name: 'List', call: (c) => drain(c.machine.list({ root: tree })), allowed: [A, O, R] },
  { name: 'DiskUsage', call: (c) => drain(c.machine.diskUsage({ paths: [tree] })), allowed: [A, O, R] },
  { name: 'Mounts', call: (c) => c.machine.mounts({}), allowed: [A, O, R] },
  { name: 'Processes', call: (c) => c.machine.processes({}), allowed: [A, O, R] },
  { name: 'Netstat', call: (c) => c.machine.netstat({ l4proto: { tcp: true } }), allowed: [A, O, R] },
  { name: 'Memory', call: (c) => c.machine.memory({}), allowed: [A, O, R] },
  { name: 'SystemStat', call: (c) => c.machine.systemStat({}), allowed: [A, O, R] },
  { name: 'LoadAvg', call: (c) => c.machine.loadAvg({}), allowed: [A, O, R] },
  { name: 'CPUInfo', call: (c) => c.machine.cPUInfo({}), allowed: [A, O, R] },
  { name: 'EtcdAlarmList', call: (c) => c.machine.etcdAlarmList({}), allowed: [A, O, R, E] },
  { name: 'EtcdAlarmDisarm', call: (c) => c.machine.etcdAlarmDisarm({}), allowed: [A, O] },
  { name: 'EtcdDefragment', call: (c) => c.machine.etcdDefragment({}), allowed: [A, O] },
  // The admin kubeconfig carries a cluster-admin key: upstream's table gives it to os:admin only.
  { name: 'Kubeconfig', call: (c) => drain(c.machine.kubeconfig({})), allowed: [A] },
];

test('debug API: every new RPC × os:admin, os:operator, os:reader, os:etcd:backup and no role gets the upstream outcome', async () => {
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
          if (!hasCode(err, Code.PermissionDenied)) failures.push(`${label} ${m.name}: unexpected ${(err as Error).message}`);
          outcome = 'denied';
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

// ---- Wire format: raw bytes from apid, read with upstream's field numbers by hand.

test('debug API: replies decode with upstream field numbers (raw gRPC client, hand-written wire reader)', async (t) => {
  const pair = await generateClientCertificate({ osCa: bundle.certs.os, roles: [A], validitySeconds: 600 });
  // Talos PEM labels Ed25519 keys "ED25519 PRIVATE KEY"; OpenSSL (under grpc-js) reads the PKCS#8 label.
  const keyPem = pair.key.replace(/ED25519 PRIVATE KEY/g, 'PRIVATE KEY');
  const client: Client = rawClient(`${cp}:50000`, { caPem: bundle.certs.os.crt, certPem: pair.crt, keyPem });
  t.after(() => client.close());
  const unary = async (method: string, req = Buffer.alloc(0)): Promise<Fields> => {
    const r = await callUnary(client, `/machine.MachineService/${method}`, req, undefined, 15_000);
    assert.ok(r.ok, `${method}: ${r.ok ? '' : r.details}`);
    return fields(r.messages[0] as Buffer);
  };
  const stream = async (method: string, req: Buffer): Promise<Fields[]> => {
    const r = await callStream(client, `/machine.MachineService/${method}`, req, undefined, 15_000);
    assert.ok(r.ok, `${method}: ${r.ok ? '' : r.details}`);
    return r.messages.map(fields);
  };

  // ProcessesResponse.messages=1 → Process.processes=2 → ProcessInfo{pid=1, ppid=2, state=3, command=8}
  const procs = subs(subs(await unary('Processes'), 1)[0] as Fields, 2);
  const self = procs.find((p) => num(p, 1) === BigInt(node?.child.pid ?? -1));
  assert.ok(self, 'machined is among the processes');
  assert.equal(num(self, 2), BigInt(process.pid));
  assert.match(str(self, 3), /^[RSDZTI]$/);
  assert.ok(str(self, 8).length > 0);

  // MountsResponse.messages=1 → Mounts.stats=2 → MountStat{filesystem=1, mounted_on=4}
  const mounts = subs(subs(await unary('Mounts'), 1)[0] as Fields, 2);
  assert.ok(mounts.some((m) => str(m, 4) === '/'), 'the root mount is listed');

  // NetstatRequest.l4proto=3 {tcp=1}, filter=1 LISTENING=2 → ConnectRecord{l4proto=1, localip=2, localport=3, state=6}
  const netReq = Buffer.from([(1 << 3) | 0, 2, (3 << 3) | 2, 2, (1 << 3) | 0, 1]);
  const records = subs(subs(await unary('Netstat', netReq), 1)[0] as Fields, 2);
  const apid = records.find((r) => str(r, 2) === cp && num(r, 3) === 50000n);
  assert.ok(apid, 'apid listening socket');
  assert.equal(str(apid, 1), 'tcp');
  assert.equal(num(apid, 6), 10n, 'LISTEN');

  // The node runs on this host in container mode, so its /proc is ours: compare with the files.
  const hostStat = readFileSync('/proc/stat', 'utf8');
  const hostCpus = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => /^processor\s*:/.test(l)).length;
  const double = (f: Fields, no: number): number => ((f.get(no)?.[0] as Buffer | undefined) ?? Buffer.alloc(8)).readDoubleLE(0);

  // SystemStatResponse.messages=1 → SystemStat{boot_time=2, cpu_total=3, cpu=4, context_switches=7,
  // soft_irq=12} → CPUStat{user=1, idle=4} (doubles, seconds)
  const sys = subs(await unary('SystemStat'), 1)[0] as Fields;
  assert.equal(num(sys, 2), BigInt(/^btime (\d+)$/m.exec(hostStat)?.[1] ?? -1));
  assert.equal(subs(sys, 4).length, hostStat.split('\n').filter((l) => /^cpu\d+ /.test(l)).length, 'one CPUStat per CPU line');
  const total = subs(sys, 3)[0] as Fields;
  assert.ok(double(total, 1) > 0 && double(total, 4) > 0, 'cpu_total user and idle seconds');
  assert.ok(num(sys, 7) > 0n, 'context switches');
  assert.equal(subs(sys, 12).length, 1, 'soft_irq');

  // LoadAvgResponse.messages=1 → LoadAvg{load1=2, load5=3, load15=4} (doubles)
  const load = subs(await unary('LoadAvg'), 1)[0] as Fields;
  for (const no of [2, 3, 4]) assert.ok(Number.isFinite(double(load, no)) && double(load, no) >= 0, `load field ${no}`);

  // CPUInfoResponse.messages=1 → CPUsInfo{cpu_info=2} → CPUInfo{processor=1, model_name=5, flags=20 (repeated string)}
  const cpus = subs(subs(await unary('CPUInfo'), 1)[0] as Fields, 2);
  assert.equal(cpus.length, hostCpus);
  assert.deepEqual(cpus.map((c) => num(c, 1)), cpus.map((_, i) => BigInt(i)));
  const hostModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1];
  if (hostModel !== undefined) assert.equal(str(cpus[0] as Fields, 5), hostModel.trim());
  assert.ok((cpus[0]?.get(20) ?? []).length > 0, 'flags');

  // ListRequest{root=1} → FileInfo{name=2, size=3, is_dir=6, link=8, relative_name=9}
  const list = await stream('List', encodeString(1, tree));
  const byRel = new Map(list.map((f) => [str(f, 9), f]));
  assert.deepEqual([...byRel.keys()].sort(), ['.', 'hello.txt', 'link', 'pipe', 'sub']);
  assert.equal(num(byRel.get('hello.txt') as Fields, 3), 20n);
  assert.equal(str(byRel.get('hello.txt') as Fields, 2), join(tree, 'hello.txt'));
  assert.equal(num(byRel.get('sub') as Fields, 6), 1n);
  assert.equal(str(byRel.get('link') as Fields, 8), 'hello.txt');

  // ReadRequest{path=1} → common.Data{bytes=2}
  const read = await stream('Read', encodeString(1, join(tree, 'hello.txt')));
  assert.equal(Buffer.concat(read.map((d) => d.get(2)?.[0] as Buffer)).toString(), 'hello from the node\n');

  // CopyRequest{root_path=1} → common.Data{bytes=2} holding a gzip stream
  const copy = await stream('Copy', encodeString(1, join(tree, 'sub')));
  const tarBytes = gunzipSync(Buffer.concat(copy.map((d) => d.get(2)?.[0] as Buffer)));
  assert.ok(tarBytes.includes(Buffer.from('deeper/leaf.txt')), 'the tar names files relative to the copied path');

  // DiskUsageRequest{paths=4} → DiskUsageInfo{name=2, size=3}
  const du = await stream('DiskUsage', encodeString(4, tree));
  const top = du.find((d) => str(d, 2) === tree);
  assert.ok(top);
  assert.ok(num(top, 3) >= 70_000n + 20n + 5n);

  // EtcdAlarmListResponse.messages=1 → EtcdAlarm{metadata=1, member_alarms=2}: no alarms on a fresh cluster
  const alarms = subs(await unary('EtcdAlarmList'), 1);
  assert.equal(alarms.length, 1);
  assert.deepEqual(alarms[0]?.get(2) ?? [], []);
  // EtcdDefragmentResponse.messages=1 → EtcdDefragment (empty on success)
  assert.equal(subs(await unary('EtcdDefragment'), 1).length, 1);

  // Kubeconfig(Empty) → stream of common.Data{metadata=1, bytes=2}; the bytes are a gzipped tar
  // holding one file, `kubeconfig` (upstream's shape: talosctl extracts it as Copy's tar stream).
  const kc = await stream('Kubeconfig', Buffer.alloc(0));
  assert.ok(kc.length > 0);
  for (const d of kc) assert.deepEqual([...d.keys()].filter((no) => no !== 1 && no !== 2), [], 'only metadata=1 and bytes=2');
  const kcTar = gunzipSync(Buffer.concat(kc.map((d) => (d.get(2)?.[0] as Buffer | undefined) ?? Buffer.alloc(0))));
  // ustar header: name at 0..100, size (octal) at 124..136, magic at 257; the data follows the 512-byte header.
  assert.equal(kcTar.subarray(0, 100).toString('latin1').replace(/\0+$/, ''), 'kubeconfig');
  assert.equal(kcTar.subarray(257, 262).toString('latin1'), 'ustar');
  const kcSize = parseInt(kcTar.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  const kubeconfig = kcTar.subarray(512, 512 + kcSize).toString('utf8');
  assert.match(kubeconfig, /^kind: Config$/m);
  assert.match(kubeconfig, new RegExp(`server: https://${cp.replace(/\./g, '\\.')}:6443`));
  assert.match(kubeconfig, /current-context: admin@it-debug/);
  assert.match(kubeconfig, /client-certificate-data: \S+/);
});

test('dashboard poll as os:reader: CPU, CPU count, uptime and load come through (SystemStat, CPUInfo, LoadAvg)', async () => {
  const c = await clientWithRoles([R]);
  try {
    const s = await pollNode(c, AbortSignal.timeout(15_000));
    const hostCpus = readFileSync('/proc/cpuinfo', 'utf8').split('\n').filter((l) => /^processor\s*:/.test(l)).length;
    assert.ok('value' in s.cpu && s.cpu.value.totalSeconds > s.cpu.value.idleSeconds && s.cpu.value.cpus === hostCpus, JSON.stringify(s.cpu));
    assert.ok('value' in s.cpuInfo && s.cpuInfo.value.count === hostCpus, JSON.stringify(s.cpuInfo));
    const hostUptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
    // boot_time has whole-second precision and the client clock does the subtraction.
    assert.ok('value' in s.uptimeSeconds && Math.abs(s.uptimeSeconds.value - hostUptime) < 5, JSON.stringify(s.uptimeSeconds));
    assert.ok('value' in s.loadAvg && s.loadAvg.value.length === 3, JSON.stringify(s.loadAvg));
  } finally {
    c.close();
  }
});

// ---- Bad input: clear errors, no hang.

test('debug API: read of a missing path is NotFound, of a directory or FIFO refused as not a regular file', async () => {
  const c = await clientWithRoles([A]);
  // One-to-one (node metadata): the gRPC status comes through as is.
  const one = c.withNode(cp);
  try {
    await assert.rejects(drain(one.machine.read({ path: join(tree, 'nope') })), (e) => hasCode(e, Code.NotFound) && /nope: no such file or directory/.test((e as Error).message));
    await assert.rejects(drain(one.machine.read({ path: tree })), (e) => hasCode(e, Code.InvalidArgument) && /must be a regular file \(it is a directory\)/.test((e as Error).message));
    // A FIFO would block the reader forever: it is refused before it is opened.
    await assert.rejects(drain(one.machine.read({ path: join(tree, 'pipe') })), (e) => hasCode(e, Code.InvalidArgument) && /FIFO/.test((e as Error).message));
    await assert.rejects(drain(one.machine.list({ root: join(tree, 'nope') })), (e) => hasCode(e, Code.NotFound));
    // One-to-many: the same refusal arrives as the node's error in the reply metadata.
    await assert.rejects(drain(c.machine.read({ path: tree })), /node error: .*must be a regular file/);
  } finally {
    c.close();
  }
});

test('debug API: ls of /proc answers with its entries; a recursive walk of /proc/self is depth-bounded', async () => {
  const r = await talosctl('ls', '/proc');
  assert.equal(r.code, 0, r.err);
  const names = r.out.trim().split('\n');
  assert.ok(names.includes('self') && names.includes('meminfo') && names.includes(String(node?.child.pid)), 'proc entries');
  const deep = await talosctl('ls', '/proc/self', '--depth', '2');
  // Entries vanish or refuse while /proc is walked: those are reported as errors, the rest is listed.
  assert.match(deep.out, /^fd\/0$/m);
  assert.doesNotMatch(deep.out, /^[^/\n]+\/[^/\n]+\/[^/\n]+$/m, 'nothing below depth 2');
});

// ---- talosctl, as a user runs it.

test('talosctl read: prints the file; a missing file names the path', async () => {
  const r = await talosctl('read', join(tree, 'hello.txt'));
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'hello from the node\n');
  const missing = await talosctl('cat', join(tree, 'nope'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, new RegExp(`${join(tree, 'nope')}: no such file or directory`));
});

test('talosctl ls: names, --long, --recurse, --depth and --type as upstream', async () => {
  const plain = await talosctl('ls', tree);
  assert.equal(plain.code, 0, plain.err);
  assert.deepEqual(plain.out.trim().split('\n'), ['.', 'hello.txt', 'link', 'pipe', 'sub']);
  const rec = await talosctl('list', tree, '-r', '-t', 'f');
  assert.deepEqual(rec.out.trim().split('\n'), ['hello.txt', 'sub/data.bin', 'sub/deeper/leaf.txt']);
  const depth = await talosctl('ls', tree, '-d', '2', '--type=d');
  assert.deepEqual(depth.out.trim().split('\n'), ['.', 'sub', 'sub/deeper']);
  const long = await talosctl('ls', '-l', tree);
  assert.match(long.out, /^NODE\s+MODE\s+UID\s+GID\s+SIZE\(B\)\s+LASTMOD\s+LABEL\s+NAME\n/);
  assert.match(long.out, new RegExp(`${cp.replace(/\./g, '\\.')}\\s+-rw-r--r--\\s+0\\s+0\\s+20\\s+\\w{3} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d\\s+hello\\.txt`));
  assert.match(long.out, /Lrwxrwxrwx.*link -> hello\.txt/);
  assert.match(long.out, /drwx.*\ssub\n/);
  const both = await talosctl('ls', tree, '-r', '-d', '3');
  assert.equal(both.code, 1);
  assert.match(both.err, /only one of flags --recurse and --depth/);
});

test('talosctl cp: a directory arrives as a tar stream and is extracted locally; the FIFO is skipped', async () => {
  const dest = join(tmp.dir, 'copied');
  const r = await talosctl('cp', tree, dest);
  assert.equal(r.code, 0, r.err);
  assert.equal(readFileSync(join(dest, 'hello.txt'), 'utf8'), 'hello from the node\n');
  assert.deepEqual(readFileSync(join(dest, 'sub', 'data.bin')), Buffer.alloc(70_000, 7));
  assert.equal(readFileSync(join(dest, 'sub', 'deeper', 'leaf.txt'), 'utf8'), 'leaf\n');
  assert.deepEqual(readdirSync(dest).sort(), ['hello.txt', 'link', 'sub']);
  const one = await talosctl('copy', '/proc/self/status', join(tmp.dir, 'one'));
  assert.equal(one.code, 0, one.err);
  assert.match(readFileSync(join(tmp.dir, 'one', 'status'), 'utf8'), /^Name:/, 'a procfs file (size 0) is copied with its content');
});

test('talosctl mounts, processes, netstat, usage, memory -v: tables as upstream prints them', async () => {
  const mounts = await talosctl('mounts');
  assert.equal(mounts.code, 0, mounts.err);
  assert.match(mounts.out, /^NODE\s+FILESYSTEM\s+SIZE\(GB\)\s+USED\(GB\)\s+AVAILABLE\(GB\)\s+PERCENT USED\s+MOUNTED ON\n/);
  assert.match(mounts.out, /\d+\.\d\d%\s+\/\n/);

  const ps = await talosctl('ps', '--sort', 'cpu');
  assert.equal(ps.code, 0, ps.err);
  assert.match(ps.out, /^NODE\s+PID\s+STATE\s+THREADS\s+CPU-TIME\s+VIRTMEM\s+RESMEM\s+LABEL\s+COMMAND\n/);
  assert.match(ps.out, new RegExp(`\\s${node?.child.pid}\\s+[RSD]\\s+\\d+\\s+\\d+\\.\\d\\d\\s+[\\d.]+ [kMG]?B\\s+[\\d.]+ [kMG]?B\\s+\\S*node\\S* .*machined`));

  const ns = await talosctl('netstat', '-l', '-t', '-p');
  assert.equal(ns.code, 0, ns.err);
  assert.match(ns.out, /^NODE\s+Proto\s+Recv-Q\s+Send-Q\s+Local Address\s+Foreign Address\s+State\s+PID\/Program name\n/);
  assert.match(ns.out, new RegExp(`tcp\\s+0\\s+0\\s+${cp.replace(/\./g, '\\.')}:50000\\s+0\\.0\\.0\\.0:\\*\\s+LISTEN\\s+\\d+/node`));

  const du = await talosctl('du', tree, '-a');
  assert.equal(du.code, 0, du.err);
  assert.match(du.out, /^SIZE\s+NAME\n/);
  assert.match(du.out, new RegExp(`^70000\\s+${join(tree, 'sub', 'data.bin').replace(/\./g, '\\.')}$`, 'm'));

  const mem = await talosctl('memory', '--verbose');
  assert.equal(mem.code, 0, mem.err);
  assert.match(mem.out, /^NODE: 127\.0\.0\.94\nMemTotal: \d+ kB\n/);
});

test('talosctl etcd alarm list|disarm and etcd defrag against the real etcd; disks says what replaced it', async () => {
  const list = await talosctl('etcd', 'alarm', 'list');
  assert.equal(list.code, 0, list.err);
  assert.equal(list.out, '', 'no alarms on a fresh cluster');
  const disarm = await talosctl('etcd', 'alarm', 'disarm');
  assert.equal(disarm.code, 0, disarm.err);
  const defrag = await talosctl('etcd', 'defrag');
  assert.equal(defrag.code, 0, defrag.err);
  const disks = await talosctl('disks');
  assert.equal(disks.code, 1);
  assert.match(disks.err, /`talosctl disks` is deprecated, please use `talosctl get disks`/);
});
