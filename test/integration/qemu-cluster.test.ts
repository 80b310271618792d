// Issue 7 item 5 acceptance (slow; TALOS_SLOW=1): `talosctl cluster create --provisioner qemu` boots one
// VM per node from a built image on a bridge in the cluster namespace, bootstraps etcd, reaches
// health, and `cluster destroy` leaves no VM, namespace, tap or file behind.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage } from '@talos-ts/imager';
import { parseTalosconfig } from '@talos-ts/machinery';
import { main } from '@talos-ts/talosctl';
import { processesUsing, tempDir, clusterNamespaces, runCli } from '@talos-ts/testkit';

const slow =
  process.env.TALOS_SLOW === '1' || process.env.TALOS_SLOW === '2'
    ? process.getuid?.() === 0
      ? false
      : 'needs root: the qemu provisioner creates a network namespace and tap devices'
    : 'slow suite: set TALOS_SLOW=1 (builds an image and boots 3 VMs, ~2 min)';
const repoRoot = new URL('../..', import.meta.url).pathname;
const name = 'it-qemu';
const cidr = '10.98.0.0/24';
const tmp = tempDir('it-qemu-');
const stateRoot = join(tmp.dir, 'clusters');
const talosconfig = join(tmp.dir, 'talosconfig');

const talosctl = (...args: string[]) => runCli(main, ['--talosconfig', talosconfig, ...args]);

const namespaces = (): string[] => clusterNamespaces(name);

const hasQemu = (() => {
  try {
    execFileSync('qemu-system-x86_64', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
const fast = process.getuid?.() !== 0 ? 'needs root: the qemu provisioner creates a network namespace and tap devices' : !hasQemu ? 'needs qemu-system-x86_64' : false;

after(async () => {
  if (!slow) await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  if (!fast) await talosctl('cluster', 'destroy', '--name', 'it-qemu-bad', '--state', stateRoot);
  tmp.remove();
});

test('qemu cluster: 3 control plane VMs → health with 3 etcd members → destroy leaves nothing', { skip: slow, timeout: 900_000 }, async () => {
  // TALOS_IMAGE_DIR reuses an image built earlier (talos-imager build --out DIR).
  const imageDir = process.env.TALOS_IMAGE_DIR ?? (await buildImage({ repoRoot, outDir: join(tmp.dir, 'out'), compression: 'fast' })).dir;
  const started = Date.now();
  const created = await talosctl(
    'cluster', 'create', '--provisioner', 'qemu', '--image-dir', imageDir, '--name', name, '--state', stateRoot, '--cidr', cidr,
    '--controlplanes', '3', '--workers', '0', '--wait-timeout', '10m',
    // Live nodes keep this suite at ~2 min; installing to disk from the registry is vm-cluster's proof.
    '--no-install-disk',
  );
  process.stderr.write(`# qemu cluster create took ${((Date.now() - started) / 1000).toFixed(1)}s\n${created.out}${created.err}`);
  assert.equal(created.code, 0, created.err);
  assert.match(created.out, /PROVISIONER\s+qemu/);
  assert.match(created.out, /waiting for etcd to be healthy: OK/);
  assert.match(created.out, /waiting for etcd members to be control plane nodes: OK/);
  assert.deepEqual(namespaces(), [`talos-${name}`], 'VMs share the cluster namespace');
  const taps = execFileSync('ip', ['-n', `talos-${name}`, '-o', 'link', 'show', 'type', 'tun'], { encoding: 'utf8' });
  assert.deepEqual([...taps.matchAll(/\d+: (tap\d+)[:@]/g)].map((m) => m[1]).sort(), ['tap0', 'tap1', 'tap2']);

  const cfg = parseTalosconfig(readFileSync(talosconfig, 'utf8'));
  assert.ok('value' in cfg);
  assert.deepEqual(cfg.value.contexts[name]?.nodes, ['10.98.0.2', '10.98.0.3', '10.98.0.4']);

  const members = await talosctl('-n', '10.98.0.2', 'etcd', 'members');
  assert.equal(members.code, 0, members.err);
  for (const host of [`${name}-controlplane-1`, `${name}-controlplane-2`, `${name}-controlplane-3`]) assert.match(members.out, new RegExp(host), members.out);
  for (const ip of ['10.98.0.2', '10.98.0.3', '10.98.0.4']) assert.match(members.out, new RegExp(`https://${ip.replace(/\./g, '\\.')}:2380`), members.out);

  const version = await talosctl('-n', '10.98.0.4', 'version');
  assert.equal(version.code, 0, version.err);
  assert.match(version.out, /NODE:\s+10\.98\.0\.4\n\tTag:\s+v\d/);

  const dir = join(stateRoot, name);
  // The cluster's registry (in the namespace, on the bridge) holds the installer the configs name.
  const state = JSON.parse(readFileSync(join(dir, 'state.json'), 'utf8')) as { registry?: { pid: number; host: string; forwardPort?: number } };
  assert.equal(state.registry?.host, '10.98.0.1:5000');
  const imageVersion = (JSON.parse(readFileSync(join(imageDir, 'manifest.json'), 'utf8')) as { version: string }).version;
  const tags = (await (await fetch(`http://127.0.0.1:${state.registry?.forwardPort ?? 0}/v2/talos-ts/installer/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, [`v${imageVersion}`]);
  assert.ok(readFileSync(join(dir, 'controlplane.yaml'), 'utf8').includes(`10.98.0.1:5000/talos-ts/installer:v${imageVersion}`), 'machine.install.image names it');
  const destroyed = await talosctl('cluster', 'destroy', '--name', name, '--state', stateRoot);
  assert.equal(destroyed.code, 0, destroyed.err);
  // Stopped: gone, or a zombie its new parent (init) has not reaped yet.
  const registryState = existsSync(`/proc/${state.registry?.pid ?? 0}/stat`) ? readFileSync(`/proc/${state.registry?.pid ?? 0}/stat`, 'utf8').replace(/^.*\) /s, '')[0] : 'gone';
  assert.ok(registryState === 'gone' || registryState === 'Z', `registry stopped (state ${registryState})`);
  assert.deepEqual(namespaces(), [], 'no namespace (and so no tap) left');
  assert.deepEqual(processesUsing(dir), [], 'no QEMU left');
  assert.equal(existsSync(dir), false, 'state dir with the disks removed');
  const afterCfg = parseTalosconfig(readFileSync(talosconfig, 'utf8'));
  assert.ok('value' in afterCfg && !(name in afterCfg.value.contexts), 'context removed');
});

test('qemu cluster: a VM that cannot boot fails create at once with its console, and destroy cleans up', { skip: fast, timeout: 60_000 }, async () => {
  // Empty files pass the image check, but QEMU cannot load an empty kernel and exits.
  const bad = join(tmp.dir, 'bad-image');
  mkdirSync(bad, { recursive: true });
  for (const f of ['vmlinuz', 'initramfs.img', 'rootfs.sqsh']) writeFileSync(join(bad, f), '');
  const started = Date.now();
  const created = await talosctl(
    'cluster', 'create', '--provisioner', 'qemu', '--image-dir', bad, '--name', 'it-qemu-bad', '--state', stateRoot, '--cidr', '10.99.0.0/24',
    '--controlplanes', '1', '--workers', '0',
  );
  assert.equal(created.code, 1, created.out);
  assert.match(created.err, /gave up waiting for the maintenance API of it-qemu-bad-controlplane-1: QEMU exited; log tail:\nqemu: could not load kernel/);
  // Long before the step timeout (300 s): the exit was noticed.
  assert.ok(Date.now() - started < 45_000, `took ${Date.now() - started} ms`);
  const destroyed = await talosctl('cluster', 'destroy', '--name', 'it-qemu-bad', '--state', stateRoot);
  assert.equal(destroyed.code, 0, destroyed.err);
  assert.equal(existsSync(join(stateRoot, 'it-qemu-bad')), false);
  assert.deepEqual(
    execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').filter((l) => l.startsWith('talos-it-qemu-bad')),
    [],
  );
});
