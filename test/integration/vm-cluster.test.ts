// Issue 12 on a qemu cluster (slow; TALOS_SLOW=1, root): `talosctl cluster create --provisioner qemu`
// with 1 control plane + 1 worker. Both nodes boot live, install from the cluster's own registry onto
// /dev/vda, and their launchers restart QEMU into the disk (SeaBIOS → GRUB → slot A). Then on those
// two VMs: a reboot keeps config, identity and an etcd key; version B (built and pushed by the test,
// signed by A's key) is installed by `talosctl upgrade --image <registry>/talos-ts/installer:v0.2.0`
// on the worker, then on the control plane with --preserve; a second upgrade while one runs is
// refused; `talosctl rollback` returns both to A; a missing tag, a registry that is down and an
// installer signed by another key are refused on the worker, and an installer built with
// `--extra-kernel-arg rdinit=/nonexistent` (its slot panics) is rolled back automatically: the
// worker is back on A, UpgradeStatus `failed`. `cluster destroy` leaves nothing.
//
// Run with a longer per-file timeout than the runner's 5 min default:
//   TALOS_SLOW=1 npm test -- test/integration/vm-cluster --test-timeout=2400000
// TALOS_VM_CLUSTER_IMAGES=DIR keeps the two built images in DIR and reuses them (delete DIR after
// changing the node's code). Timings go to stderr as `# ...` lines.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pushInstaller } from '@talos-ts/imager';
import { main } from '@talos-ts/talosctl';
import { clusterNamespaces, processesUsing, runCli, tempDir, waitFor } from '@talos-ts/testkit';
import { buildBadVariants, buildUpgradeImages, qemuSuiteSkip, writeEtcdClientFiles } from './upgrade-images-fixture.ts';

const slow = qemuSuiteSkip('builds two images, installs a 2-node qemu cluster to disk, reboots, upgrades and rolls back; ~12 min under TCG');
const repoRoot = new URL('../..', import.meta.url).pathname;
const name = 'cl12-vmc';
const cidr = '10.111.40.0/24';
const CP = '10.111.40.2';
const WORKER = '10.111.40.3';
const REGISTRY = '10.111.40.1:5000';
const VERSION_B = '0.2.0';
/** A kernel argument that breaks the boot: no such init in the initramfs, so the kernel panics. */
const BREAK_BOOT = 'rdinit=/nonexistent';
const IMAGE_BROKEN = `${REGISTRY}/talos-ts/installer:v${VERSION_B}-broken`;
const IMAGE_OTHER_KEY = `${REGISTRY}/talos-ts/installer:v${VERSION_B}-otherkey`;
const tmp = tempDir('it-vm-cluster-');
const imagesDir = process.env.TALOS_VM_CLUSTER_IMAGES ?? join(tmp.dir, 'images');
const stateRoot = join(tmp.dir, 'clusters');
const clusterDir = join(stateRoot, name);
const talosconfig = join(tmp.dir, 'talosconfig');
const timings: Record<string, number> = {};
let versionA = '';
let created = false;
let identityBefore = '';
let configBefore = '';

const talosctl = (...args: string[]) => runCli(main, ['--talosconfig', talosconfig, ...args]);
const on = (node: string, ...args: string[]) => talosctl('-n', node, ...args);
const secondsSince = (t0: number): number => Math.round((Date.now() - t0) / 100) / 10;
const say = (line: string): void => void process.stderr.write(`# vm-cluster: ${line}\n`);
const consoleOf = (node: 'controlplane-1' | 'worker-1'): string => readFileSync(join(clusterDir, `${name}-${node}.log`), 'utf8');

/** The node's version tag (the Server block of `talosctl version`), or '' when it does not answer. */
async function serverTag(node: string): Promise<string> {
  const v = await on(node, 'version');
  return v.code === 0 ? (/Server:[\s\S]*?Tag:\s+(\S+)/.exec(v.out)?.[1] ?? '') : '';
}

/** Debian's etcdctl inside the cluster namespace (etcd listens on the bridge only), with a client certificate of the cluster's etcd CA. */
function etcdctl(...args: string[]): { code: number; out: string; err: string } {
  const d = join(tmp.dir, 'etcd-client');
  const r = spawnSync(
    'ip',
    ['netns', 'exec', `talos-${name}`, 'etcdctl', `--endpoints=https://${CP}:2379`, `--cacert=${join(d, 'ca.crt')}`, `--cert=${join(d, 'client.crt')}`, `--key=${join(d, 'client.key')}`, '--insecure-skip-tls-verify', '--dial-timeout=5s', '--command-timeout=10s', ...args],
    { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 30_000 },
  );
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

const etcdHealthy = async (): Promise<boolean> => /etcd\s+Running\s+OK/.test((await on(CP, 'services')).out);

before(async () => {
  if (slow) return;
  let t0 = Date.now();
  const images = await buildUpgradeImages(repoRoot, imagesDir, VERSION_B);
  const dirA = images.dirA;
  versionA = images.versionA;
  // B built with a kernel argument that panics its slot (trusted key), and B signed by a stranger.
  const variants = await buildBadVariants(repoRoot, images, imagesDir, VERSION_B, BREAK_BOOT);
  timings.buildS = secondsSince(t0);

  t0 = Date.now();
  // A run killed by the runner's timeout skips its after hook: its VMs are found by namespace name.
  await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  created = true;
  const c = await talosctl(
    'cluster', 'create', '--provisioner', 'qemu', '--image-dir', dirA, '--name', name, '--state', stateRoot, '--cidr', cidr,
    '--controlplanes', '1', '--workers', '1', '--wait-timeout', '15m',
  );
  timings.createS = secondsSince(t0);
  say(`cluster create (live boot → install → disk boot → bootstrap → healthy) ${timings.createS} s`);
  assert.equal(c.code, 0, `${c.out}\n${c.err}`);

  // B goes to the cluster's registry through its loopback forward, as `talos-imager push` does.
  const state = JSON.parse(readFileSync(join(clusterDir, 'state.json'), 'utf8')) as { registry?: { forwardPort?: number } };
  const forward = `127.0.0.1:${state.registry?.forwardPort ?? 0}/talos-ts/installer`;
  const pushed = await pushInstaller(images.dirB, `${forward}:v${VERSION_B}`);
  assert.match(pushed.manifestDigest, /^sha256:/);
  await pushInstaller(variants.broken, `${forward}:v${VERSION_B}-broken`);
  await pushInstaller(variants.otherKey, `${forward}:v${VERSION_B}-otherkey`);

  await writeEtcdClientFiles(join(clusterDir, 'secrets.yaml'), join(tmp.dir, 'etcd-client'));
}, { timeout: 1_800_000 });

/** TALOS_VM_CLUSTER_LOGS=DIR keeps the consoles and the cluster's logs (copied before destroy). */
async function keepLogs(): Promise<void> {
  const keep = process.env.TALOS_VM_CLUSTER_LOGS;
  if (!keep || !existsSync(clusterDir)) return;
  mkdirSync(keep, { recursive: true });
  for (const f of readdirSync(clusterDir).filter((n) => n.endsWith('.log'))) writeFileSync(join(keep, f), readFileSync(join(clusterDir, f)));
  // The services' own logs (apid, machined) are not on the consoles: each node is asked for them.
  for (const [node, ip] of [['controlplane-1', CP], ['worker-1', WORKER]] as const) {
    for (const svc of ['apid', 'machined']) {
      const l = await runCli(main, ['--talosconfig', talosconfig, '-n', ip, 'logs', svc], { timeoutMs: 30_000 }).catch((err: unknown) => ({ out: '', err: String(err) }));
      writeFileSync(join(keep, `${name}-${node}.${svc}.log`), `${l.out}${l.err}`);
    }
  }
}

after(async () => {
  await keepLogs();
  if (created) {
    const t0 = Date.now();
    const d = await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
    say(`destroy ${secondsSince(t0)} s (exit ${d.code})`);
  }
  if (Object.keys(timings).length > 0) say(JSON.stringify(timings));
  tmp.remove();
});

test('vm-cluster: both nodes installed themselves from the cluster registry and booted slot A from /dev/vda through SeaBIOS and GRUB', { skip: slow, timeout: 300_000 }, async () => {
  for (const [node, ip] of [['controlplane-1', CP], ['worker-1', WORKER]] as const) {
    const log = consoleOf(node);
    assert.match(log, new RegExp(`install phase \\{"phase":"bootloader"`), `${node} installed`);
    assert.match(log, /talos-vm-launcher: guest reset: starting QEMU again, booting the install disk through the firmware/, node);
    const disk = log.slice(log.lastIndexOf('booting the install disk through the firmware'));
    assert.match(disk, /Booting from Hard Disk/, node);
    assert.match(disk, /Booting `Talos-TS \(A\)'/, node);
    assert.match(disk, new RegExp(`machined: node is up \\(${ip.replaceAll('.', '\\.')}, configured\\)`), node);
    const cmdline = await on(ip, 'read', '/proc/cmdline');
    assert.equal(cmdline.code, 0, cmdline.err);
    assert.match(cmdline.out, new RegExp(`^BOOT_IMAGE=/A/vmlinuz console=ttyS0 talos\\.platform=metal panic=1 quiet ip=${ip.replaceAll('.', '\\.')}::\\S+ talos\\.hostname=${name}-${node} talos\\.slot=A$`, 'm'), node);
    const vs = await on(ip, 'get', 'volumestatus');
    assert.equal(vs.code, 0, vs.err);
    assert.match(vs.out, /VolumeStatus\s+STATE\s+\d+\s+partition\s+ready\s+\/dev\/vda5\s/, `${node}: ${vs.out}`);
    assert.match(vs.out, /VolumeStatus\s+EPHEMERAL\s+\d+\s+partition\s+ready\s+\/dev\/vda6\s/, `${node}: ${vs.out}`);
    const m = await on(ip, 'get', 'mounts', '-o', 'json');
    assert.equal(m.code, 0, m.err);
    const specs = m.out.split(/\n(?=\{)/).filter((x) => x.trim() !== '').map((x) => (JSON.parse(x) as { spec: { source: string; target: string; filesystemType: string } }).spec);
    assert.deepEqual(specs.filter((s) => s.target === '/system/state' || s.target === '/var').map((s) => `${s.target}=${s.source}:${s.filesystemType}`).sort(), ['/system/state=/dev/vda5:xfs', '/var=/dev/vda6:xfs'], node);
    const st = await on(ip, 'get', 'upgradestatus');
    assert.equal(st.code, 0, st.err);
    assert.match(st.out, /UpgradeStatus\s+upgrade\s+\d+\s+A\s/, `${node}: ${st.out}`);
    assert.equal(await serverTag(ip), `v${versionA}`);
  }
  const cfg = readFileSync(join(clusterDir, 'controlplane.yaml'), 'utf8');
  assert.ok(cfg.includes(`${REGISTRY}/talos-ts/installer:v${versionA}`), 'machine.install.image names the cluster registry');
});

test('vm-cluster: a rebooted control plane comes back from its disk configured, with the same identity, config and etcd key', { skip: slow, timeout: 900_000 }, async () => {
  await waitFor('etcd healthy', etcdHealthy, 300_000);
  await waitFor('etcdctl put', () => etcdctl('put', 'it/cluster', 'survives').code === 0, 120_000);
  const id = await on(CP, 'get', 'identities');
  assert.equal(id.code, 0, id.err);
  identityBefore = id.out.split('\n')[1]?.trim().split(/\s+/).at(-1) ?? '';
  assert.match(identityBefore, /^\S{20,}$/, id.out);
  configBefore = (await on(CP, 'read', '/system/state/config.yaml')).out;
  assert.match(configBefore, /type: controlplane/);
  const mark = consoleOf('controlplane-1').length;
  const t0 = Date.now();
  const r = await on(CP, 'reboot', '--wait=false');
  assert.equal(r.code, 0, r.err);
  await waitFor('the rebooted node to answer configured', async () => {
    const after = consoleOf('controlplane-1').slice(mark);
    return /machined: node is up \(10\.111\.40\.2, configured\)/.test(after) && (await on(CP, 'version')).code === 0;
  }, 600_000);
  timings.rebootS = secondsSince(t0);
  const after = consoleOf('controlplane-1').slice(mark);
  assert.match(after, /booting the install disk through the firmware/);
  assert.match(after, /Booting `Talos-TS \(A\)'/);
  assert.doesNotMatch(after, /formatted system volume/);
  assert.doesNotMatch(after, /maintenance mode/);
  const id2 = await on(CP, 'get', 'identities');
  assert.equal(id2.out.split('\n')[1]?.trim().split(/\s+/).at(-1), identityBefore, 'same node identity');
  assert.equal((await on(CP, 'read', '/system/state/config.yaml')).out, configBefore, 'same config');
  await waitFor('etcd healthy again', etcdHealthy, 300_000);
  let value = '';
  await waitFor('etcdctl get', () => {
    const g = etcdctl('get', 'it/cluster', '--print-value-only');
    value = g.out.trim();
    return g.code === 0 && value !== '';
  }, 120_000);
  assert.equal(value, 'survives');
  say(`reboot API call → control plane configured and answering ${timings.rebootS} s`);
});

test('vm-cluster: upgrade from the cluster registry to v0.2.0 on the worker (a second upgrade meanwhile is refused), then on the control plane with --preserve', { skip: slow, timeout: 1_500_000 }, async () => {
  const image = `${REGISTRY}/talos-ts/installer:v${VERSION_B}`;
  let t0 = Date.now();
  // The call returns once the image is pulled and verified and the sequence runs; a second upgrade
  // sent while the first one pulls is refused at once.
  const first = on(WORKER, 'upgrade', '--image', image, '--wait=false');
  // The call reaches the node within a second or two; the pull and the slot write take a minute under TCG.
  await new Promise((r) => setTimeout(r, 5000));
  const second = await on(WORKER, 'upgrade', '--image', image, '--wait=false');
  const u = await first;
  assert.equal(u.code, 0, `first upgrade: ${u.out}\n${u.err}`);
  assert.notEqual(second.code, 0, `a second upgrade must be refused: ${second.out}`);
  assert.match(second.err, /another upgrade is already in progress/, `second upgrade: ${second.err}`);
  await waitFor('the worker answers v0.2.0', async () => (await serverTag(WORKER)) === `v${VERSION_B}`, 900_000);
  timings.upgradeWorkerS = secondsSince(t0);
  const w = consoleOf('worker-1');
  assert.match(w.slice(w.lastIndexOf('guest reset')), /Booting `Talos-TS \(B\)'/);
  assert.match((await on(WORKER, 'read', '/proc/cmdline')).out, /ip=10\.111\.40\.3::\S+ .*talos\.slot=B$/m, 'the new slot keeps the node address');
  say(`worker upgrade API call → v${VERSION_B} answering ${timings.upgradeWorkerS} s`);

  t0 = Date.now();
  // A single control plane cannot leave its etcd cluster: as upstream, it upgrades with --preserve.
  const c = await on(CP, 'upgrade', '--image', image, '--preserve', '--wait', '--timeout', '15m');
  assert.equal(c.code, 0, `${c.out}\n${c.err}`);
  await waitFor('the control plane answers v0.2.0', async () => (await serverTag(CP)) === `v${VERSION_B}`, 900_000);
  timings.upgradeCpS = secondsSince(t0);
  await waitFor('UpgradeStatus says B booted', async () => /UpgradeStatus\s+upgrade\s+\d+\s+B\s+booted\s+B\s+0\.2\.0/.test((await on(CP, 'get', 'upgradestatus')).out), 180_000);
  await waitFor('etcd healthy on B', etcdHealthy, 300_000);
  const g = etcdctl('get', 'it/cluster', '--print-value-only');
  assert.equal(g.out.trim(), 'survives', 'etcd data preserved');
  say(`control plane upgrade (--preserve --wait) API call → v${VERSION_B} answering ${timings.upgradeCpS} s`);
  // The installer went through containerd's content store (namespace system); --preserve kept /var.
  const images = await on(CP, 'image', 'list', '--namespace', 'system');
  assert.equal(images.code, 0, images.err);
  assert.match(images.out, new RegExp(`${image.replace(/\./g, '\\.')}\\s+sha256:[0-9a-f]{64}\\s+\\d`), images.out);
});

test('vm-cluster: talosctl rollback returns both nodes to slot A and the first version', { skip: slow, timeout: 1_200_000 }, async () => {
  const t0 = Date.now();
  for (const ip of [WORKER, CP]) {
    const r = await on(ip, 'rollback');
    assert.equal(r.code, 0, r.err);
  }
  await waitFor('both nodes answer the first version again', async () => (await serverTag(WORKER)) === `v${versionA}` && (await serverTag(CP)) === `v${versionA}`, 900_000);
  timings.rollbackS = secondsSince(t0);
  for (const ip of [WORKER, CP]) assert.match((await on(ip, 'read', '/proc/cmdline')).out, /talos\.slot=A$/m, ip);
  await waitFor('etcd healthy on A', etcdHealthy, 300_000);
  say(`rollback API calls (worker, control plane) → both on v${versionA} ${timings.rollbackS} s`);
});

test('vm-cluster: a missing tag, a registry that is down and an installer signed by another key are refused with clear errors, and nothing changes', { skip: slow, timeout: 600_000 }, async () => {
  const before = (await on(WORKER, 'get', 'upgradestatus')).out;
  const cases: Array<[string, string, RegExp]> = [
    ['missing tag', `${REGISTRY}/talos-ts/installer:v9.9.9`, /installer:v9\.9\.9[\s\S]*HTTP 404[\s\S]*has tags [^\n]*v0\.2\.0/],
    ['registry down', `${REGISTRY.replace(/:\d+$/, ':5999')}/talos-ts/installer:v${VERSION_B}`, /registry unreachable/],
    ['signed by another key', IMAGE_OTHER_KEY, /not signed by the key this node trusts/],
  ];
  for (const [what, image, want] of cases) {
    const t0 = Date.now();
    const u = await on(WORKER, 'upgrade', '--image', image, '--preserve', '--wait=false');
    assert.notEqual(u.code, 0, `${what}: the upgrade must be refused: ${u.out}`);
    assert.match(u.err, want, `${what}: ${u.err}`);
    say(`${what}: refused in ${secondsSince(t0)} s: ${u.err.trim().split('\n').at(-1) ?? ''}`);
    assert.equal(await serverTag(WORKER), `v${versionA}`, `${what}: version unchanged`);
  }
  assert.equal((await on(WORKER, 'get', 'upgradestatus')).out, before, 'UpgradeStatus unchanged');
  assert.match((await on(WORKER, 'read', '/proc/cmdline')).out, /talos\.slot=A$/m);
  assert.doesNotMatch(consoleOf('worker-1').slice(consoleOf('worker-1').lastIndexOf('Booting `Talos-TS (A)')), /upgrade: slot written/, 'no slot was written');
});

test('vm-cluster: an installer whose kernel argument breaks the boot panics once, and the worker is back on A by itself, reporting the failed upgrade', { skip: slow, timeout: 1_200_000 }, async () => {
  const mark = consoleOf('worker-1').length;
  const since = (): string => consoleOf('worker-1').slice(mark);
  const t0 = Date.now();
  const u = await on(WORKER, 'upgrade', '--image', IMAGE_BROKEN, '--preserve', '--wait=false');
  assert.equal(u.code, 0, `${u.out}\n${u.err}`);
  // Any panic of the slot tried once is a failed boot (the argument's own, or TCG's timer check on
  // a loaded host); panic=1 resets the machine, its launcher starts QEMU again, GRUB boots the default.
  await waitFor('the worker panics in slot B', async () => /Talos-TS: trying slot B once[\s\S]*Kernel panic - not syncing/.test(since()), 600_000);
  const tPanic = Date.now();
  await waitFor('the worker answers the first version again', async () => (await serverTag(WORKER)) === `v${versionA}`, 600_000);
  timings.failedBootToAS = secondsSince(tPanic);
  timings.failedApiToAS = secondsSince(t0);
  const log = since();
  assert.match(log.slice(log.search(/Kernel panic - not syncing/)), /Booting `Talos-TS \(A\)'/, 'the boot after the panic is A, with no operator action');
  assert.match(log, /upgrade rolled back automatically/);
  assert.match((await on(WORKER, 'read', '/proc/cmdline')).out, /talos\.slot=A$/m);
  await waitFor('UpgradeStatus reports the failed upgrade', async () => /UpgradeStatus\s+upgrade\s+\d+\s+A\s+failed\s+B\s+0\.2\.0/.test((await on(WORKER, 'get', 'upgradestatus')).out), 120_000);
  say(`broken slot: API call → panic ${Math.round((timings.failedApiToAS - timings.failedBootToAS) * 10) / 10} s, panic → v${versionA} answering ${timings.failedBootToAS} s`);
  await waitFor('the control plane is still healthy', etcdHealthy, 300_000);
});

test('vm-cluster: cluster destroy stops the launchers and VMs and leaves no namespace or file', { skip: slow, timeout: 120_000 }, async () => {
  await keepLogs();
  const d = await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  assert.equal(d.code, 0, d.err);
  created = false;
  assert.deepEqual(clusterNamespaces(name), []);
  assert.deepEqual(processesUsing(clusterDir), [], 'no launcher or QEMU left');
  assert.equal(existsSync(clusterDir), false);
  assert.equal(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(`talos-${name}`), false);
});
