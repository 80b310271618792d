// Issue 12 items 1, 2 and 5 (slow; runs with TALOS_SLOW=1): build the image with its disk.raw, boot
// the disk the way a machine does (SeaBIOS → GRUB's MBR code → core.img in the BIOS partition →
// grub.cfg on BOOT → slot A), configure and bootstrap the node, write an etcd key, reboot through
// the firmware again and check the config, the node identity and the key survived on STATE and
// EPHEMERAL. Then (issue 12 items 2 and 8) a META key written before that reboot is still there
// after it, and `reset --system-labels-to-wipe STATE,EPHEMERAL` brings the node back in maintenance
// mode with both volumes made anew. One VM for every case: TCG is slow. (The install from a live boot and grubenv's one-shot
// slot are in vm-install.test.ts, so each file stays well under the runner's per-file timeout.)
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootDiskVm, buildImage, DISK_IMAGE, USER_NET, type RunningVm } from '@talos-ts/imager';
import { generateClientCertificate, loadSecretsBundle } from '@talos-ts/machinery';
import { main } from '@talos-ts/talosctl';
import { freeLoopbackPort, tempDir, waitFor } from '@talos-ts/testkit';

const slow = process.env.TALOS_SLOW === '1' ? false : 'slow suite: set TALOS_SLOW=1 (builds an image and boots a disk through SeaBIOS, ~6 min)';
const repoRoot = new URL('../..', import.meta.url).pathname;
const tmp = tempDir('it-vm-disk-');
// TALOS_VM_HOST: the loopback address the forwards bind (a helper runs it in its own range).
const HOST = process.env.TALOS_VM_HOST ?? '127.0.21.10';
let vm: RunningVm | undefined;
let apiPort = 0;
let etcdPort = 0;
let talosconfig = '';
const timings: Record<string, number> = {};
let identityBefore = '';
let configBefore = '';

async function talosctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

const api = (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
  talosctl('--talosconfig', talosconfig, '-e', `${HOST}:${apiPort}`, '-n', USER_NET.address, ...args);

/** Debian's etcdctl through the forward, with a client certificate the test signs with the cluster's etcd CA. */
function etcdctl(...args: string[]): { code: number; out: string; err: string } {
  const d = join(tmp.dir, 'etcd-client');
  const r = spawnSync(
    'etcdctl',
    [`--endpoints=https://${HOST}:${etcdPort}`, `--cacert=${join(d, 'ca.crt')}`, `--cert=${join(d, 'client.crt')}`, `--key=${join(d, 'client.key')}`, '--insecure-skip-tls-verify', '--dial-timeout=5s', '--command-timeout=10s', ...args],
    { env: { ...process.env, ETCDCTL_API: '3' }, encoding: 'utf8', timeout: 30_000 },
  );
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

/** Seconds from QEMU's start to the first console line matching re after `since`. */
async function secondsTo(re: RegExp, since: number, timeoutMs: number): Promise<number> {
  assert.ok(vm);
  await vm.waitForLine(re, { timeoutMs, since });
  return Math.round((Date.now() - vm.startedAt) / 100) / 10;
}

before(async () => {
  if (slow) return;
  const t0 = Date.now();
  // TALOS_IMAGE_DIR: an image built beforehand with the same kernel arguments (`talos-imager build
  // --extra-kernel-arg ip=10.0.2.15::10.0.2.2:255.255.255.0:talos-vm:eth0:off:10.0.2.3 --extra-kernel-arg quiet`).
  const imageDir = process.env.TALOS_IMAGE_DIR ?? (await buildImage({
    repoRoot,
    outDir: join(tmp.dir, 'out'),
    compression: 'fast',
    extraKernelArgs: [`ip=${USER_NET.address}::${USER_NET.gateway}:255.255.255.0:talos-vm:eth0:off:${USER_NET.dns}`, 'quiet'],
  })).dir;
  timings.buildS = Math.round((Date.now() - t0) / 1000);
  // QEMU writes the disk: boot a copy, so a prebuilt image stays as built.
  const disk = join(tmp.dir, DISK_IMAGE);
  const cp = spawnSync('cp', ['--sparse=always', join(imageDir, DISK_IMAGE), disk]);
  assert.equal(cp.status, 0, String(cp.stderr));
  apiPort = await freeLoopbackPort();
  etcdPort = await freeLoopbackPort();
  vm = bootDiskVm(disk, { apiPort, apiHost: HOST, extraForwards: [{ hostPort: etcdPort, guestPort: 2379 }] });
  timings.grubS = await secondsTo(/Booting `Talos-TS \(A\)'/, 0, 120_000);
  timings.maintenanceS = await secondsTo(/machined: node is up/, 0, 300_000);
  const s = await talosctl('gen', 'secrets', '-o', join(tmp.dir, 'secrets.yaml'));
  assert.equal(s.code, 0, s.err);
  const g = await talosctl('gen', 'config', 'vm-disk', `https://${USER_NET.address}:6443`, '--with-secrets', join(tmp.dir, 'secrets.yaml'), '--additional-sans', HOST, '-o', join(tmp.dir, 'cfg'));
  assert.equal(g.code, 0, g.err);
  talosconfig = join(tmp.dir, 'cfg', 'talosconfig');
  const bundle = await loadSecretsBundle(join(tmp.dir, 'secrets.yaml'));
  const client = await generateClientCertificate({ osCa: bundle.certs.etcd, roles: [] });
  const d = join(tmp.dir, 'etcd-client');
  spawnSync('mkdir', ['-p', d]);
  writeFileSync(join(d, 'ca.crt'), bundle.certs.etcd.crt);
  writeFileSync(join(d, 'client.crt'), client.crt);
  writeFileSync(join(d, 'client.key'), client.key);
});

after(async () => {
  await vm?.[Symbol.asyncDispose]();
  tmp.remove();
});

test('vm-disk: SeaBIOS boots GRUB from the MBR, slot A\'s root comes from the initramfs, STATE and EPHEMERAL are made XFS', { skip: slow }, (t) => {
  const c = vm?.console() ?? '';
  assert.match(c, /SeaBIOS/);
  assert.match(c, /Booting from Hard Disk/);
  assert.match(c, /GRUB loading/);
  assert.match(c, /\[init\] mounted \/rootfs\.sqsh through \/dev\/loop\d \(squashfs, read-only\)/);
  assert.match(c, /formatted system volume \{"label":"STATE","device":"\/dev\/vda5"/);
  assert.match(c, /formatted system volume \{"label":"EPHEMERAL","device":"\/dev\/vda6"/);
  assert.match(c, /machined: node is up \(10\.0\.2\.15, maintenance mode\)/);
  t.diagnostic(`image build ${timings.buildS} s; QEMU start → GRUB boots slot A ${timings.grubS} s → maintenance mode ${timings.maintenanceS} s`);
});

test('vm-disk: configured and bootstrapped, the node writes an etcd key; mounts show STATE and EPHEMERAL as XFS', { skip: slow, timeout: 600_000 }, async () => {
  const r = await talosctl('apply-config', '--insecure', '-n', `${HOST}:${apiPort}`, '-f', join(tmp.dir, 'cfg', 'controlplane.yaml'));
  assert.equal(r.code, 0, r.err);
  await waitFor('apid answers over mTLS', async () => (await api('version')).code === 0, 240_000);
  const b = await api('bootstrap');
  assert.equal(b.code, 0, b.err);
  await waitFor('etcd running and healthy', async () => /etcd\s+Running\s+OK/.test((await api('services')).out), 300_000);
  await waitFor('etcdctl put through the forward', () => etcdctl('put', 'it/disk', 'survives').code === 0, 120_000);
  const id = await api('get', 'identities');
  assert.equal(id.code, 0, id.err);
  identityBefore = id.out.split('\n')[1]?.trim().split(/\s+/).at(-1) ?? '';
  assert.match(identityBefore, /^\S{20,}$/, id.out);
  const cmdline = await api('read', '/proc/cmdline');
  assert.equal(cmdline.code, 0, cmdline.err);
  assert.match(cmdline.out, /^BOOT_IMAGE=\/A\/vmlinuz console=ttyS0 talos\.platform=metal panic=1 ip=\S+ quiet talos\.slot=A$/m);
  const vs = await api('get', 'volumestatus');
  assert.equal(vs.code, 0, vs.err);
  assert.match(vs.out, /runtime\s+VolumeStatus\s+STATE\s+\d+\s+partition\s+ready\s+\/dev\/vda5\s+105 MB/);
  assert.match(vs.out, /runtime\s+VolumeStatus\s+EPHEMERAL\s+\d+\s+partition\s+ready\s+\/dev\/vda6\s+/);
  const cfg = await api('read', '/system/state/config.yaml');
  assert.equal(cfg.code, 0, cfg.err);
  configBefore = cfg.out;
  assert.match(configBefore, /type: controlplane/);
  const m = await api('get', 'mounts', '-o', 'json');
  assert.equal(m.code, 0, m.err);
  const specs = m.out.split(/\n(?=\{)/).filter((x) => x.trim() !== '').map((x) => (JSON.parse(x) as { spec: { source: string; target: string; filesystemType: string } }).spec);
  assert.deepEqual(specs.find((s) => s.target === '/system/state'), { ...specs.find((s) => s.target === '/system/state'), source: '/dev/vda5', filesystemType: 'xfs' });
  assert.deepEqual(specs.find((s) => s.target === '/var'), { ...specs.find((s) => s.target === '/var'), source: '/dev/vda6', filesystemType: 'xfs' });
});

test('vm-disk: talosctl meta write puts a key on the META partition and get metakeys shows it', { skip: slow, timeout: 120_000 }, async () => {
  const w = await api('meta', 'write', '0xa', 'hello');
  assert.equal(w.code, 0, w.err);
  const k = await api('get', 'metakeys');
  assert.equal(k.code, 0, k.err);
  assert.match(k.out, /runtime\s+MetaKey\s+0x0a\s+\d+\s+hello/);
  const bad = await api('meta', 'delete', '0x0b');
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /meta key not found/);
});

test('vm-disk: after a reboot through the firmware the node is configured with the same identity, config and etcd key', { skip: slow, timeout: 600_000 }, async (t) => {
  assert.ok(vm && identityBefore !== '');
  const mark = vm.console().length;
  const t0 = Date.now();
  const r = await api('reboot', '--wait=false');
  assert.equal(r.code, 0, r.err);
  await vm.waitForLine(/Booting `Talos-TS \(A\)'/, { timeoutMs: 180_000, since: mark });
  const grubS = (Date.now() - t0) / 1000;
  await vm.waitForLine(/machined: node is up \(10\.0\.2\.15, configured\)/, { timeoutMs: 300_000, since: mark });
  const upS = (Date.now() - t0) / 1000;
  const after = vm.console().slice(mark);
  assert.doesNotMatch(after, /formatted system volume/);
  assert.match(after, /system disk mounted/);
  await waitFor('apid answers after the reboot', async () => (await api('version')).code === 0, 180_000);
  const id = await api('get', 'identities');
  assert.equal(id.out.split('\n')[1]?.trim().split(/\s+/).at(-1), identityBefore);
  assert.equal((await api('read', '/system/state/config.yaml')).out, configBefore);
  await waitFor('etcd healthy again', async () => /etcd\s+Running\s+OK/.test((await api('services')).out), 300_000);
  let value = '';
  await waitFor('etcdctl get through the forward', () => {
    const g = etcdctl('get', 'it/disk', '--print-value-only');
    value = g.out.trim();
    return g.code === 0;
  }, 120_000);
  assert.equal(value, 'survives');
  t.diagnostic(`reboot API call → GRUB ${grubS.toFixed(1)} s → node up (configured) ${upS.toFixed(1)} s`);
});

test('vm-disk: the META key written before the reboot is still there after it', { skip: slow, timeout: 120_000 }, async () => {
  assert.ok(vm);
  assert.match(vm.console(), /META: loaded \{[^}]*"device":"\/dev\/vda4","keys":1,"source":"first"\}/);
  const k = await api('get', 'metakeys');
  assert.equal(k.code, 0, k.err);
  assert.match(k.out, /runtime\s+MetaKey\s+0x0a\s+\d+\s+hello/);
});

test('vm-disk: reset --system-labels-to-wipe STATE,EPHEMERAL brings the node back in maintenance mode with both volumes made anew', { skip: slow, timeout: 600_000 }, async (t) => {
  assert.ok(vm && identityBefore !== '');
  const unknown = await api('reset', '--system-labels-to-wipe', 'STATE,NOPE', '--reboot', '--graceful=false', '--wait=false');
  assert.notEqual(unknown.code, 0);
  assert.match(unknown.err, /"NOPE"/);
  assert.equal((await api('version')).code, 0, 'a refused reset leaves the node running');
  const mark = vm.console().length;
  const t0 = Date.now();
  const r = await api('reset', '--system-labels-to-wipe', 'STATE,EPHEMERAL', '--reboot', '--graceful=false', '--wait=false');
  assert.equal(r.code, 0, r.err);
  await vm.waitForLine(/machined: node is up \(10\.0\.2\.15, maintenance mode\)/, { timeoutMs: 300_000, since: mark });
  const upS = (Date.now() - t0) / 1000;
  const after = vm.console().slice(mark);
  assert.match(after, /formatted system volume \{"label":"STATE","device":"\/dev\/vda5"/);
  assert.match(after, /formatted system volume \{"label":"EPHEMERAL","device":"\/dev\/vda6"/);
  const insecure = (...args: string[]) => talosctl(...args, '--insecure', '-n', `${HOST}:${apiPort}`);
  let version = { code: -1, out: '', err: '' };
  await waitFor('the maintenance API answers', async () => (version = await insecure('version')).code === 0, 120_000);
  assert.match(version.out, /Tag:/);
  const vs = await insecure('get', 'volumestatus');
  assert.equal(vs.code, 0, vs.err);
  assert.match(vs.out, /STATE\s+\d+\s+partition\s+ready\s+\/dev\/vda5/);
  const id = await insecure('get', 'identities');
  const identityAfter = id.code === 0 ? (id.out.split('\n')[1]?.trim().split(/\s+/).at(-1) ?? '') : '';
  if (identityAfter !== '') assert.notEqual(identityAfter, identityBefore, 'a new node identity');
  const k = await insecure('get', 'metakeys');
  assert.equal(k.code, 0, k.err);
  assert.match(k.out, /0x0a\s+\d+\s+hello/, 'META is not a wiped label: its keys stay');
  process.stderr.write(`# vm-disk reset: API call -> maintenance mode ${upS.toFixed(1)} s; identity ${identityAfter === '' ? 'not readable in maintenance mode' : 'changed'}\n`);
  t.diagnostic(`reset STATE,EPHEMERAL → maintenance mode ${upS.toFixed(1)} s`);
});
