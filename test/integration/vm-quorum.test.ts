// Issue 12's etcd guards on a qemu cluster of 3 control planes installed to disk (slow; TALOS_SLOW=1,
// root). `talosctl cluster create --provisioner qemu --controlplanes 3` installs the three VMs from the
// cluster's registry; the test pushes version B (signed by A's key) there. On those three VMs:
// 1. with controlplane-3's etcd stopped, an upgrade of controlplane-1 is refused (FailedPrecondition
//    naming controlplane-3) and nothing changes (same version, same slot, no claim left);
// 2. controlplane-1 and controlplane-2 are asked to upgrade at once without --preserve: one takes
//    the etcd upgrade claim, the other's --wait output shows it waiting on `etcdUpgradeClaim`, and
//    it takes the claim only once the first answers on B again; both end on B with 3 voting members;
// 3. both came back with EPHEMERAL made afresh: their etcd members are new (new ids), and each
//    serves a key written before the upgrades from its own, replicated, data.
//
//   TALOS_SLOW=1 npm test -- test/integration/vm-quorum --test-timeout=2400000
// Measured on 2 shared cores (TCG, images reused): create 294 s, refusal 105 s (the pull of B
// included), both upgrades 314 s (the first back on B at 187 s, the second took the claim at 223 s),
// file 791 s; building the two images adds ~35 s.
// TALOS_VM_QUORUM_IMAGES=DIR keeps the two built images in DIR and reuses them (delete DIR after
// changing the node's code); TALOS_VM_QUORUM_LOGS=DIR keeps the consoles. Timings: `# ...` lines.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pushInstaller } from '@talos-ts/imager';
import { main } from '@talos-ts/talosctl';
import { clusterNamespaces, processesUsing, runCli, tempDir, waitFor } from '@talos-ts/testkit';
import { buildUpgradeImages, qemuSuiteSkip, writeEtcdClientFiles } from './upgrade-images-fixture.ts';

const slow = qemuSuiteSkip('builds two images, installs a 3 control plane qemu cluster to disk, upgrades two of them; ~14 min under TCG');
const repoRoot = new URL('../..', import.meta.url).pathname;
const name = 'q3-quorum';
const cidr = '10.111.42.0/24';
const CPS = ['10.111.42.2', '10.111.42.3', '10.111.42.4'] as const;
const [CP1, CP2, CP3] = CPS;
const REGISTRY = '10.111.42.1:5000';
const VERSION_B = '0.2.0';
const IMAGE_B = `${REGISTRY}/talos-ts/installer:v${VERSION_B}`;
const tmp = tempDir('it-vm-quorum-');
const imagesDir = process.env.TALOS_VM_QUORUM_IMAGES ?? join(tmp.dir, 'images');
const stateRoot = join(tmp.dir, 'clusters');
const clusterDir = join(stateRoot, name);
const talosconfig = join(tmp.dir, 'talosconfig');
const etcdClientDir = join(tmp.dir, 'etcd-client');
const timings: Record<string, number> = {};
let versionA = '';
let created = false;
/** Member id (hex) by member name, before the upgrades. */
let membersBefore = new Map<string, Member>();
/** Console length of each node when the parallel upgrade started. */
const consoleMarks = new Map<string, number>();
let upgradedInOrder: string[] = [];

const talosctl = (...args: string[]) => runCli(main, ['--talosconfig', talosconfig, ...args]);
/** The loopback forward to each node's apid (from the cluster's state.json). */
const apiForwards = new Map<string, number>();
// Each node through its own apid: a call proxied by another control plane would break when that one reboots.
const on = (ip: string, ...args: string[]) => talosctl('-e', `127.0.0.1:${apiForwards.get(ip) ?? 0}`, '-n', ip, ...args);
const secondsSince = (t0: number): number => Math.round((Date.now() - t0) / 100) / 10;
const say = (line: string): void => void process.stderr.write(`# vm-quorum: ${line}\n`);
const hostOf = (ip: string): string => `${name}-controlplane-${CPS.indexOf(ip as (typeof CPS)[number]) + 1}`;
const consoleOf = (ip: string): string => readFileSync(join(clusterDir, `${hostOf(ip)}.log`), 'utf8');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const run = promisify(execFile);

/** The node's version tag (the Server block of `talosctl version`), or '' when it does not answer. */
async function serverTag(ip: string): Promise<string> {
  const v = await on(ip, 'version');
  return v.code === 0 ? (/Server:[\s\S]*?Tag:\s+(\S+)/.exec(v.out)?.[1] ?? '') : '';
}

/** UpgradeStatus's columns (slot, state, booted slot, version), or '' when the node does not answer. */
async function upgradeStatus(ip: string): Promise<string> {
  const st = await on(ip, 'get', 'upgradestatus');
  if (st.code !== 0) return '';
  const cols = st.out.split('\n').find((l) => l.includes('UpgradeStatus'))?.trim().split(/\s+/) ?? [];
  // After TYPE, ID and the resource's VERSION (which moves without the slot changing).
  return cols.slice(cols.indexOf('UpgradeStatus') + 3).join(' ');
}

/**
 * Debian's etcdctl inside the cluster namespace (etcd listens on the bridge only), with a client of
 * the cluster's etcd CA; asynchronous, so talosctl's streams in this process keep flowing meanwhile.
 */
async function etcdctl(endpoints: readonly string[], ...args: string[]): Promise<{ code: number; out: string; err: string }> {
  try {
    const r = await run(
      'ip',
      ['netns', 'exec', `talos-${name}`, 'etcdctl', `--endpoints=${endpoints.map((ip) => `https://${ip}:2379`).join(',')}`, `--cacert=${join(etcdClientDir, 'ca.crt')}`, `--cert=${join(etcdClientDir, 'client.crt')}`, `--key=${join(etcdClientDir, 'client.key')}`, '--insecure-skip-tls-verify', '--dial-timeout=5s', '--command-timeout=10s', ...args],
      { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 30_000 },
    );
    return { code: 0, out: r.stdout, err: r.stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, out: e.stdout ?? '', err: e.stderr ?? String(err) };
  }
}

/** One etcd member as `etcdctl member list -w simple` prints it (ids in hex). */
interface Member {
  readonly id: string;
  readonly started: boolean;
  readonly name: string;
  readonly learner: boolean;
}

async function members(): Promise<Map<string, Member>> {
  const r = await etcdctl(CPS, 'member', 'list', '-w', 'simple');
  if (r.code !== 0) throw new Error(`etcdctl member list: ${r.err}`);
  const out = new Map<string, Member>();
  for (const line of r.out.split('\n').filter((l) => l.trim() !== '')) {
    const [id = '', status = '', memberName = '', , , learner = ''] = line.split(', ');
    out.set(memberName, { id, started: status === 'started', name: memberName, learner: learner.trim() === 'true' });
  }
  return out;
}

/** Three started voting members named after the three control planes, and each endpoint healthy. */
async function etcdHealthy(): Promise<boolean> {
  try {
    const m = await members();
    if (CPS.some((ip) => { const x = m.get(hostOf(ip)); return !x || !x.started || x.learner; }) || m.size !== 3) return false;
  } catch {
    return false;
  }
  return (await etcdctl(CPS, 'endpoint', 'health')).code === 0;
}

/** The holder (node name) of the upgrade claim, '' when there is none, undefined when etcd did not answer. */
async function claimHolder(): Promise<string | undefined> {
  const r = await etcdctl(CPS, 'get', 'talos:v1:upgrade:claim', '--print-value-only');
  if (r.code !== 0) return undefined;
  const v = r.out.trim();
  return v === '' ? '' : ((JSON.parse(v) as { node?: string }).node ?? '?');
}

before(async () => {
  if (slow) return;
  let t0 = Date.now();
  const images = await buildUpgradeImages(repoRoot, imagesDir, VERSION_B);
  versionA = images.versionA;
  timings.buildS = secondsSince(t0);

  t0 = Date.now();
  // A run killed by the runner's timeout skips its after hook: its VMs are found by namespace name.
  await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  created = true;
  const c = await talosctl(
    'cluster', 'create', '--provisioner', 'qemu', '--image-dir', images.dirA, '--name', name, '--state', stateRoot, '--cidr', cidr,
    '--controlplanes', '3', '--workers', '0', '--wait-timeout', '20m',
  );
  timings.createS = secondsSince(t0);
  say(`cluster create, 3 control planes (live boot → install → disk boot → bootstrap → healthy) ${timings.createS} s`);
  assert.equal(c.code, 0, `${c.out}\n${c.err}`);

  // B goes to the cluster's registry through its loopback forward, as `talos-imager push` does.
  const state = JSON.parse(readFileSync(join(clusterDir, 'state.json'), 'utf8')) as { registry?: { forwardPort?: number }; nodes: { ip: string; apiForwardPort?: number }[] };
  for (const n of state.nodes) if (n.apiForwardPort !== undefined) apiForwards.set(n.ip, n.apiForwardPort);
  assert.deepEqual([...apiForwards.keys()].sort(), [...CPS]);
  const pushed = await pushInstaller(images.dirB, `127.0.0.1:${state.registry?.forwardPort ?? 0}/talos-ts/installer:v${VERSION_B}`);
  assert.match(pushed.manifestDigest, /^sha256:/);
  await writeEtcdClientFiles(join(clusterDir, 'secrets.yaml'), etcdClientDir);
}, { timeout: 2_400_000 });

/** TALOS_VM_QUORUM_LOGS=DIR keeps the consoles and the cluster's logs (copied before destroy). */
function keepLogs(): void {
  const keep = process.env.TALOS_VM_QUORUM_LOGS;
  if (!keep || !existsSync(clusterDir)) return;
  mkdirSync(keep, { recursive: true });
  for (const f of readdirSync(clusterDir).filter((n) => n.endsWith('.log'))) writeFileSync(join(keep, f), readFileSync(join(clusterDir, f)));
}

after(async () => {
  keepLogs();
  if (created) {
    const t0 = Date.now();
    const d = await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
    say(`destroy ${secondsSince(t0)} s (exit ${d.code})`);
  }
  say(JSON.stringify(timings));
  tmp.remove();
});

test('vm-quorum: with one control plane\'s etcd stopped, upgrading another is refused naming it, and nothing changes', { skip: slow, timeout: 900_000 }, async () => {
  for (const ip of CPS) assert.match(consoleOf(ip), /Booting `Talos-TS \(A\)'/, `${hostOf(ip)} booted its disk`);
  await waitFor('3 healthy etcd members', etcdHealthy, 300_000);
  await waitFor('etcdctl put', async () => (await etcdctl(CPS, 'put', 'it/quorum', 'kept')).code === 0, 120_000);
  membersBefore = await members();
  const statusBefore = await upgradeStatus(CP1);
  assert.match(statusBefore, /^A\b/, `UpgradeStatus of ${hostOf(CP1)}: ${statusBefore}`);

  const stop = await on(CP3, 'service', 'etcd', 'stop');
  assert.equal(stop.code, 0, stop.err);
  const t0 = Date.now();
  const refused = await on(CP1, 'upgrade', '--image', IMAGE_B, '--wait=false');
  timings.refusalS = secondsSince(t0);
  say(`upgrade refused in ${timings.refusalS} s (pull and verify included): ${refused.err.trim()}`);
  assert.notEqual(refused.code, 0, `the upgrade must be refused: ${refused.out}`);
  assert.match(refused.err, /etcd cannot lose this member for an upgrade/);
  assert.match(refused.err, new RegExp(`${hostOf(CP3)}: not healthy \\(https://10\\.111\\.42\\.4:2379\\)`));
  assert.doesNotMatch(refused.err, new RegExp(`${hostOf(CP2)}:`), 'only the member at fault is named');

  // Nothing changed: the node runs A from slot A, and the claim it took for the check is gone.
  assert.equal(await serverTag(CP1), `v${versionA}`);
  assert.equal(await upgradeStatus(CP1), statusBefore);
  assert.equal(await claimHolder(), '');
  assert.doesNotMatch(consoleOf(CP1), /EPHEMERAL will be wiped at the next boot/);
  const m = await members();
  assert.equal(m.get(hostOf(CP1))?.id, membersBefore.get(hostOf(CP1))?.id, 'controlplane-1 did not leave etcd');

  const start = await on(CP3, 'service', 'etcd', 'start');
  assert.equal(start.code, 0, start.err);
  await waitFor('3 healthy etcd members again', etcdHealthy, 300_000);
});

test('vm-quorum: two control planes upgraded at once go one at a time through the etcd claim, and both end on B', { skip: slow, timeout: 2_100_000 }, async () => {
  for (const ip of CPS) consoleMarks.set(ip, consoleOf(ip).length);
  const t0 = Date.now();
  // Both asked at once, without --preserve (talosctl's default), each followed with --wait.
  const asked = [CP1, CP2].map((ip) => on(ip, 'upgrade', '--image', IMAGE_B, '--wait', '--timeout', '30m').then((r) => ({ ip, ...r })));
  let settled = false;
  void Promise.allSettled(asked).then(() => (settled = true));

  // Watch the claim: its holders in order, and at the moment the second takes it, the first's version.
  const holders: string[] = [];
  let firstTagWhenSecondTook = '';
  let firstMemberWhenSecondTook: Member | undefined;
  for (let i = 0; i < 1200 && !settled; i++) {
    const h = await claimHolder();
    if (h && h !== holders.at(-1)) {
      holders.push(h);
      say(`${secondsSince(t0)} s: claim held by ${h}`);
      if (holders.length === 2) {
        const first = CPS.find((ip) => hostOf(ip) === holders[0]) ?? '';
        for (let k = 0; k < 3 && firstTagWhenSecondTook !== `v${VERSION_B}`; k++) firstTagWhenSecondTook = await serverTag(first);
        firstMemberWhenSecondTook = (await members().catch(() => undefined))?.get(holders[0] ?? '');
        timings.secondClaimS = secondsSince(t0);
      }
    }
    if (holders.length === 1 && timings.firstBackS === undefined) {
      const first = CPS.find((ip) => hostOf(ip) === holders[0]) ?? '';
      if ((await serverTag(first)) === `v${VERSION_B}`) timings.firstBackS = secondsSince(t0);
    }
    await sleep(2000);
  }
  const results = await Promise.all(asked);
  timings.parallelUpgradeS = secondsSince(t0);
  for (const r of results) assert.equal(r.code, 0, `${hostOf(r.ip)}: ${r.out}\n${r.err.slice(-3000)}`);
  say(`both upgrades (API calls → both back on B) ${timings.parallelUpgradeS} s; first back on B at ${timings.firstBackS} s, second took the claim at ${timings.secondClaimS} s`);

  assert.deepEqual([...holders].sort(), [hostOf(CP1), hostOf(CP2)], `the claim went to each once: ${holders.join(' → ')}`);
  upgradedInOrder = holders.map((h) => CPS.find((ip) => hostOf(ip) === h) ?? '');
  const [firstIp, secondIp] = upgradedInOrder;
  assert.equal(firstTagWhenSecondTook, `v${VERSION_B}`, 'the second took the claim only once the first answered on B');
  assert.ok(firstMemberWhenSecondTook?.started && !firstMemberWhenSecondTook.learner, `...and was a voting etcd member again: ${JSON.stringify(firstMemberWhenSecondTook)}`);
  const waiter = results.find((r) => r.ip === secondIp);
  assert.match(waiter?.err ?? '', new RegExp(`stage: UPGRADING ready: false unmetCond: \\[etcdUpgradeClaim: waiting: ${holders[0]} \\(https://${(firstIp ?? '').replaceAll('.', '\\.')}:2380\\) holds the etcd upgrade claim`), 'the waiter reported why it waited');
  const goer = results.find((r) => r.ip === firstIp);
  assert.doesNotMatch(goer?.err ?? '', /etcdUpgradeClaim/, 'the first did not wait');

  for (const ip of [CP1, CP2]) {
    assert.equal(await serverTag(ip), `v${VERSION_B}`, hostOf(ip));
    assert.match((await on(ip, 'read', '/proc/cmdline')).out, /talos\.slot=B$/m, hostOf(ip));
  }
  assert.equal(await serverTag(CP3), `v${versionA}`, 'controlplane-3 was not upgraded');
  await waitFor('3 healthy voting etcd members after both upgrades', etcdHealthy, 300_000);
  await waitFor('the claim released', async () => (await claimHolder()) === '', 120_000);
});

test('vm-quorum: the upgrades without --preserve wiped EPHEMERAL and each control plane rejoined etcd as a new member holding the data', { skip: slow, timeout: 300_000 }, async () => {
  assert.equal(upgradedInOrder.length, 2, 'the parallel upgrade case ran');
  const after = await members();
  for (const ip of [CP1, CP2]) {
    const log = consoleOf(ip).slice(consoleMarks.get(ip) ?? 0);
    assert.match(log, /EPHEMERAL will be wiped at the next boot/, hostOf(ip));
    assert.match(log, /wiped system volume as requested \{[^\n]*"label":"EPHEMERAL"/, hostOf(ip));
    assert.match(log, /added this node to etcd as a learner/, hostOf(ip));
    const before = membersBefore.get(hostOf(ip));
    const now = after.get(hostOf(ip));
    assert.ok(before && now && now.started && !now.learner, `${hostOf(ip)}: ${JSON.stringify(now)}`);
    assert.notEqual(now.id, before.id, `${hostOf(ip)} came back as a new member (its data directory was new)`);
    // A serializable read answers from this member's own data: the key replicated to it.
    const g = await etcdctl([ip], 'get', 'it/quorum', '--print-value-only', '--consistency=s');
    assert.equal(g.code, 0, g.err);
    assert.equal(g.out.trim(), 'kept', hostOf(ip));
  }
  assert.equal(after.get(hostOf(CP3))?.id, membersBefore.get(hostOf(CP3))?.id, 'controlplane-3 kept its member');
  const vs = await on(CP1, 'get', 'volumestatus');
  assert.match(vs.out, /VolumeStatus\s+EPHEMERAL\s+\d+\s+partition\s+ready\s+\/dev\/vda6\s/, vs.out);
});

test('vm-quorum: cluster destroy leaves no VM, namespace or file', { skip: slow, timeout: 120_000 }, async () => {
  keepLogs();
  const d = await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  assert.equal(d.code, 0, d.err);
  created = false;
  assert.deepEqual(clusterNamespaces(name), []);
  assert.deepEqual(processesUsing(clusterDir), [], 'no launcher or QEMU left');
  assert.equal(existsSync(clusterDir), false);
});
