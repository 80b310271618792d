// Issue 12 item 1 (slow; runs with TALOS_SLOW=1): a node booted live (kernel + initramfs, root on
// vda) with machine.install in the config fetched from talos.config= installs itself onto a blank
// second disk from the image directory served over HTTP, restarts, and that disk alone then boots
// through SeaBIOS and GRUB into a configured node. Then grubenv's one-shot slot on a disk image.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, truncateSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { bootDiskVm, bootVm, buildDiskImage, buildImage, USER_NET, type RunningVm } from '@talos-ts/imager';
import { main } from '@talos-ts/talosctl';
import { freeLoopbackPort, tempDir, waitFor } from '@talos-ts/testkit';

const slow = process.env.TALOS_SLOW === '1' ? false : 'slow suite: set TALOS_SLOW=1 (builds an image, installs it from a live boot, boots the disk; ~4 min)';
const repoRoot = new URL('../..', import.meta.url).pathname;
const tmp = tempDir('it-vm-install-');
const HOST = '127.0.21.40';
/** Where the guest finds the test's HTTP server (QEMU's guestfwd to HOST). */
const SERVED = '10.0.2.100';
let imageDir = '';
let talosconfig = '';
let yaml = '';
let http: Server | undefined;
let httpPort = 0;
let vm: RunningVm | undefined;
const consoleLog = process.env.TALOS_VM_CONSOLE_LOG;

async function talosctl(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

before(async () => {
  if (slow) return;
  const image = await buildImage({ repoRoot, outDir: join(tmp.dir, 'out'), compression: 'fast', disk: false });
  imageDir = image.dir;
  const g = await talosctl('gen', 'config', 'vm-install', `https://${USER_NET.address}:6443`, '--additional-sans', HOST, '-o', join(tmp.dir, 'cfg'));
  assert.equal(g.code, 0, g.err);
  talosconfig = join(tmp.dir, 'cfg', 'talosconfig');
  const ipArg = `ip=${USER_NET.address}::${USER_NET.gateway}:255.255.255.0:talos-vm:eth0:off:${USER_NET.dns}`;
  yaml = readFileSync(join(tmp.dir, 'cfg', 'controlplane.yaml'), 'utf8')
    .replace(/disk: \/dev\/sda.*\n/, 'disk: /dev/vdb\n')
    .replace(/image: ghcr\.io\/talos-ts\/installer\S*.*\n/, `image: http://${SERVED}/img/\n        extraKernelArgs:\n            - ${ipArg}\n            - quiet\n`);
  assert.match(yaml, /disk: \/dev\/vdb\n\s+image: http:\/\/10\.0\.2\.100\/img\/\n\s+extraKernelArgs:/);
  http = createServer((req, res) => {
    const url = req.url ?? '/';
    if (url === '/config.yaml') return void res.end(yaml);
    const name = url.replace(/^\/img\//, '');
    if (!url.startsWith('/img/') || name.includes('/') || !existsSync(join(imageDir, name))) {
      res.statusCode = 404;
      return void res.end();
    }
    res.end(readFileSync(join(imageDir, name)));
  });
  await new Promise<void>((r) => http?.listen(0, HOST, r));
  httpPort = (http.address() as AddressInfo).port;
});

after(async () => {
  await vm?.[Symbol.asyncDispose]();
  await new Promise<void>((r) => (http ? http.close(() => r()) : r()));
  tmp.remove();
});

test('vm-install: a live boot with machine.install.disk installs from the image URL onto a blank disk, restarts, and the disk boots configured through SeaBIOS', { skip: slow, timeout: 600_000 }, async (t) => {
  const blank = join(tmp.dir, 'blank.raw');
  closeSync(openSync(blank, 'w'));
  truncateSync(blank, 6 * 1024 ** 3);
  const t0 = Date.now();
  vm = bootVm(imageDir, {
    apiPort: await freeLoopbackPort(),
    kernelArgs: [`talos.config=http://${SERVED}/config.yaml`],
    extraDisks: [blank],
    guestForwards: [{ guestAddress: SERVED, guestPort: 80, command: `${process.execPath} ${join(repoRoot, 'test/integration/testdata/tcp-relay.mjs')} ${HOST} ${httpPort}` }],
    ...(consoleLog ? { onConsoleLine: (l: string) => appendFileSync(consoleLog, `${l}\n`) } : {}),
  });
  await vm.waitForLine(/installed to disk; restarting into it/, { timeoutMs: 420_000 });
  const live = vm;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('QEMU did not exit after the install restart')), 60_000);
    if (live.process.exitCode !== null || live.process.signalCode !== null) return void (clearTimeout(timer), resolve());
    live.process.once('exit', () => (clearTimeout(timer), resolve()));
  });
  const installS = (Date.now() - t0) / 1000;
  const phases = live.console().match(/"phases":\[[^\]]*\]/)?.[0] ?? '';
  assert.match(live.console(), /install phase \{"phase":"bootloader","number":3\}/);
  await live[Symbol.asyncDispose]();

  // The installed disk alone, as the machine's only disk: firmware, GRUB, slot A, STATE with the config.
  const apiPort = await freeLoopbackPort();
  vm = bootDiskVm(blank, { apiPort, apiHost: HOST, ...(consoleLog ? { onConsoleLine: (l: string) => appendFileSync(consoleLog, `${l}\n`) } : {}) });
  await vm.waitForLine(/machined: node is up \(10\.0\.2\.15, configured\)/, { timeoutMs: 300_000 });
  const bootS = (Date.now() - vm.startedAt) / 1000;
  assert.match(vm.console(), /Booting `Talos-TS \(A\)'/);
  assert.doesNotMatch(vm.console(), /formatted system volume \{"label":"STATE"/);
  assert.match(vm.console(), /formatted system volume \{"label":"EPHEMERAL"/);
  const api = (...args: string[]): Promise<{ code: number; out: string; err: string }> => talosctl('--talosconfig', talosconfig, '-e', `${HOST}:${apiPort}`, '-n', USER_NET.address, ...args);
  await waitFor('apid answers on the installed node', async () => (await api('version')).code === 0, 180_000);
  const vs = await api('get', 'volumestatus');
  assert.match(vs.out, /STATE\s+\d+\s+partition\s+ready\s+\/dev\/vda5/);
  t.diagnostic(`live boot → install → restart ${installS.toFixed(1)} s (${phases}); disk boot → configured ${bootS.toFixed(1)} s`);
});

test('vm-install: a slot tried once (next_entry) that dies before machined marks it good is followed by the default; one that comes up becomes the default', { skip: slow, timeout: 300_000 }, async (t) => {
  // One QEMU at a time: the installed node's VM is done with.
  await vm?.[Symbol.asyncDispose]();
  vm = undefined;
  const t0 = Date.now();
  /** Boots a disk until `until` shows on the console, then pulls the plug; returns the console. */
  const bootUntil = async (disk: string, until: RegExp): Promise<string> => {
    const v = bootDiskVm(disk, { apiPort: await freeLoopbackPort(), apiHost: HOST, noReboot: true });
    try {
      await v.waitForLine(until, { timeoutMs: 180_000 });
      return v.console();
    } finally {
      await v[Symbol.asyncDispose]();
    }
  };
  const both = { imageDir, slots: ['A', 'B'] as const, bootChoice: { defaultSlot: 'A', nextSlot: 'B' } as const, extraKernelArgs: ['quiet'] };
  // A new slot B that never reaches machined (power cut right after GRUB started it): the next boot is A's.
  const failed = await buildDiskImage({ ...both, outFile: join(tmp.dir, 'failed.raw') });
  const c1 = await bootUntil(failed, /Booting `Talos-TS \(B\)'/);
  assert.match(c1, /Talos-TS: trying slot B once/);
  const c2 = await bootUntil(failed, /Booting `Talos-TS \((A|B)\)'/);
  assert.doesNotMatch(c2, /trying slot/);
  assert.match(c2, /Booting `Talos-TS \(A\)'/, 'after a failed try the default slot A boots');
  // A new slot B whose machined comes up: it marks the boot good, and B is the default from then on.
  const good = await buildDiskImage({ ...both, outFile: join(tmp.dir, 'good.raw') });
  const c3 = await bootUntil(good, /boot marked good/);
  assert.match(c3, /boot marked good \{"slot":"B","previousDefault":"A"\}/);
  const c4 = await bootUntil(good, /Booting `Talos-TS \((A|B)\)'/);
  assert.doesNotMatch(c4, /trying slot/);
  assert.match(c4, /Booting `Talos-TS \(B\)'/);
  t.diagnostic(`four boots through GRUB (two to the first kernel line, one to machined marking B good) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
});
