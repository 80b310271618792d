// Issue 7 acceptance (slow; runs with TALOS_SLOW=1): build the image, boot it under QEMU (TCG), put the
// node in service through the maintenance API over a loopback port forward, then talk mTLS to apid.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootVm, buildImage, USER_NET, type RunningVm } from '@talos-ts/imager';
import { main } from '@talos-ts/talosctl';
import { freeLoopbackPort, tempDir, waitFor } from '@talos-ts/testkit';

const slow = process.env.TALOS_SLOW === '1' ? false : 'slow suite: set TALOS_SLOW=1 (builds an image and boots a VM, ~3 min)';
const repoRoot = new URL('../..', import.meta.url).pathname;
const tmp = tempDir('it-vm-');
let vm: RunningVm | undefined;
let imageDir = '';
let port = 0;
let talosconfig = '';

async function talosctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}


const api = (...args: string[]): Promise<{ code: number; out: string; err: string }> =>
  talosctl('--talosconfig', talosconfig, '-e', `127.0.0.1:${port}`, '-n', USER_NET.address, ...args);

before(async () => {
  if (slow) return;
  const image = await buildImage({ repoRoot, outDir: join(tmp.dir, 'out'), compression: 'fast' });
  port = await freeLoopbackPort();
  imageDir = image.dir;
  vm = bootVm(image.dir, { apiPort: port });
  await vm.waitForLine(/machined: node is up/, { timeoutMs: 240_000 });
  const g = await talosctl('gen', 'config', 'vm', `https://${USER_NET.address}:6443`, '--additional-sans', '127.0.0.1', '-o', join(tmp.dir, 'cfg'));
  assert.equal(g.code, 0, g.err);
  talosconfig = join(tmp.dir, 'cfg', 'talosconfig');
});

after(async () => {
  await vm?.[Symbol.asyncDispose]();
  tmp.remove();
});

test('vm: machined is PID 1 on the SquashFS root and waits in maintenance mode', { skip: slow }, () => {
  const c = vm?.console() ?? '';
  assert.match(c, /\[init\] mounted \/dev\/vda \(squashfs, read-only\)/);
  assert.match(c, /machined: starting on metal as PID 1\b/);
  assert.match(c, /maintenance mode/);
});

test('vm: apply-config through the forward, then apid answers version over mTLS and services run', { skip: slow, timeout: 300_000 }, async () => {
  const r = await talosctl('apply-config', '--insecure', '-n', `127.0.0.1:${port}`, '-f', join(tmp.dir, 'cfg', 'controlplane.yaml'));
  assert.equal(r.code, 0, r.err);
  await waitFor(
    'apid, trustd and containerd running and healthy in the VM',
    async () => {
      const s = await api('services');
      return s.code === 0 && /apid\s+Running\s+OK/.test(s.out) && /trustd\s+Running\s+OK/.test(s.out) && /containerd\s+Running\s+OK/.test(s.out);
    },
    180_000,
  );
  const v = await api('version');
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /Server:\n\tNODE:\s+10\.0\.2\.15\n\tTag:\s+v\d/);
});

test('vm: get mounts shows the SquashFS root read-only and /system as tmpfs', { skip: slow }, async () => {
  const m = await api('get', 'mounts', '-o', 'json');
  assert.equal(m.code, 0, m.err);
  const specs = m.out
    .split(/\n(?=\{)/)
    .filter((t) => t.trim() !== '')
    .map((t) => (JSON.parse(t) as { spec: { source: string; target: string; filesystemType: string; options: string[] } }).spec);
  const root = specs.find((s) => s.target === '/');
  assert.equal(root?.filesystemType, 'squashfs');
  assert.ok(root?.options.includes('ro'), `root options ${root?.options.join(',')}`);
  assert.equal(specs.find((s) => s.target === '/system')?.filesystemType, 'tmpfs');
  assert.equal(specs.find((s) => s.target === '/sys/fs/cgroup')?.filesystemType, 'cgroup2');
  assert.ok(specs.some((s) => s.target === '/etc/resolv.conf'), '/etc/resolv.conf is not bind-mounted');
});

test('vm: dmesg over the API shows the kernel log with our module loading and the virtio disk', { skip: slow }, async () => {
  const d = await api('dmesg');
  assert.equal(d.code, 0, d.err);
  assert.match(d.out, /10\.0\.2\.15: kern: \w+\s*: \[\s*\d+\.\d{6}\]: Linux version/);
  const lines = d.out.split('\n');
  assert.ok(lines.some((l) => /virtio_blk virtio\d+: \[vda\]/.test(l)), `no virtio_blk line among ${lines.length}; last: ${lines.slice(-5).join(' | ')}; virtio: ${lines.filter((l) => l.includes('virtio')).join(' | ')}`);
});

test('vm: talos.config= is fetched at boot (no maintenance mode) and talos.hostname= names the node', { skip: slow, timeout: 300_000 }, async () => {
  const yaml = readFileSync(join(tmp.dir, 'cfg', 'controlplane.yaml'), 'utf8');
  const http = createHttpServer((_req, res) => res.end(yaml));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const httpPort = (http.address() as { port: number }).port;
  const port2 = await freeLoopbackPort();
  // QEMU's user network reaches the host's loopback as the gateway address.
  const vm2 = bootVm(imageDir, { apiPort: port2, kernelArgs: [`talos.config=http://${USER_NET.gateway}:${httpPort}/controlplane.yaml`, 'talos.hostname=vm-two'] });
  try {
    await vm2.waitForLine(/machined: node is up .*configured/, { timeoutMs: 240_000 });
    assert.doesNotMatch(vm2.console(), /entering maintenance mode/);
    const call = (...args: string[]) => talosctl('--talosconfig', talosconfig, '-e', `127.0.0.1:${port2}`, '-n', USER_NET.address, ...args);
    await waitFor('apid answers in the second VM', async () => (await call('version')).code === 0, 120_000);
    const h = await call('get', 'hostname');
    assert.equal(h.code, 0, h.err);
    assert.match(h.out, /vm-two/);
  } finally {
    await vm2[Symbol.asyncDispose]();
    http.close();
  }
});

test('vm: a fatal error in /init is printed and the machine restarts after a delay instead of panicking', { skip: slow, timeout: 180_000 }, async () => {
  // -no-reboot turns the guest's restart into QEMU exiting, which is what we wait for.
  const vm3 = bootVm(imageDir, { apiPort: await freeLoopbackPort(), kernelArgs: ['talos.root=/dev/vdz'] });
  try {
    await vm3.waitForLine(/\[init\] fatal: Error: root device \/dev\/vdz did not appear/, { timeoutMs: 120_000 });
    await vm3.waitForLine(/\[init\] rebooting in 10 s/, { timeoutMs: 5_000 });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('QEMU did not exit: the guest did not restart')), 60_000);
      vm3.process.once('exit', () => (clearTimeout(timer), resolve()));
      if (vm3.process.exitCode !== null) {
        clearTimeout(timer);
        resolve();
      }
    });
    assert.doesNotMatch(vm3.console(), /Kernel panic/);
  } finally {
    await vm3[Symbol.asyncDispose]();
  }
});

test('vm: shutdown through the API powers the machine off (QEMU exits)', { skip: slow, timeout: 120_000 }, async () => {
  assert.ok(vm);
  const exited = new Promise<void>((resolve) => (vm?.process.exitCode !== null ? resolve() : vm.process.once('exit', () => resolve())));
  const r = await api('shutdown');
  assert.equal(r.code, 0, r.err);
  await Promise.race([exited, new Promise((_, reject) => setTimeout(() => reject(new Error(`still running; console tail:\n${vm?.console().slice(-2000)}`)), 90_000))]);
  assert.doesNotMatch(vm.console(), /Kernel panic/);
});
