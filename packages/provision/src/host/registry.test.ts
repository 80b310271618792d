import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotation, applyPatches, generateMachineConfigs, generateSecretsBundle, pullImage, toConfigSecrets, validateConfig } from '@talos-ts/machinery';
import { installerPatch } from '../create.ts';
import { installerReference, planNetwork, REGISTRY_PORT } from '../network.ts';
import { startForwarder } from './forwarder.ts';
import { createNetns, deleteNetns, listNetns } from './netns.ts';
import { isAlive, processesMentioning, spawned, stopProcesses } from './processes.ts';
import { pushClusterInstaller, spawnRegistry } from './registry.ts';

const root = process.getuid?.() === 0;
const hasRegistry = existsSync('/usr/bin/docker-registry');
const skip = !root ? 'needs root (network namespaces)' : !hasRegistry ? 'docker-registry is not installed (scripts/ensure-deps.sh qemu)' : false;
const NETNS = `oc-reg-${process.pid}`;
let dir: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'oc-registry-'));
});

after(async () => {
  await stopProcesses(processesMentioning(dir), { graceMs: 2000 });
  await deleteNetns(NETNS);
  rmSync(dir, { recursive: true, force: true });
});

/** A built image's installer files (small stand-ins) with a manifest naming the version; no installer/ layout yet. */
function imageDir(): string {
  const img = join(dir, 'image');
  mkdirSync(img, { recursive: true });
  const artifacts: Record<string, { sizeBytes: number; sha256: string }> = {};
  for (const f of ['vmlinuz', 'initramfs.img', 'rootfs.cpio', 'boot.img', 'core.img']) {
    const b = Buffer.from(`${f}\n`.repeat(1000));
    writeFileSync(join(img, f), b);
    artifacts[f] = { sizeBytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  }
  writeFileSync(join(img, 'manifest.json'), JSON.stringify({ schema: 1, version: '0.1.0', gitRevision: 'abc', artifacts }));
  writeFileSync(join(img, 'manifest.sig'), 'sig\n');
  writeFileSync(join(img, 'signing-key.pub'), 'key\n');
  return img;
}

test('the cluster registry runs in the cluster namespace, takes the installer through a loopback forward, and stopping it leaves nothing', { skip, timeout: 120_000 }, async () => {
  const cluster = join(dir, 'cluster');
  mkdirSync(cluster);
  await createNetns(NETNS);
  // In this helper's loopback range, so nothing on the host side answers the negative check below.
  const listen = `127.0.36.9:${REGISTRY_PORT}`;
  const child = spawnRegistry({ netns: NETNS, listen, dir: cluster, logFile: join(cluster, 'registry.log') });
  const pid = await spawned(child);
  child.unref();
  const fwd = await startForwarder({ netns: NETNS, targets: [listen], logFile: join(cluster, 'forwarder.log'), clusterDir: cluster });
  const port = fwd.forwards[0]!.port;
  const img = imageDir();
  // Pushed right away: the registry may still be starting, and the push waits for it.
  const pushed = await pushClusterInstaller({ imageDir: img, registry: `127.0.0.1:${port}`, repository: 'talos-ts/installer', timeoutMs: 30_000 });
  assert.equal(pushed.tag, 'v0.1.0');
  assert.ok(existsSync(join(img, 'installer', 'oci-layout')), 'the layout was written for an image built without one');
  const pulled = await pullImage(`127.0.0.1:${port}/talos-ts/installer:v0.1.0`, { dir: join(dir, 'pull') });
  assert.equal(pulled.manifestDigest, pushed.manifestDigest);
  assert.equal(pulled.manifest.annotations?.[Annotation.version], 'v0.1.0');
  assert.ok(readFileSync(join(cluster, 'registry', 'config.yml'), 'utf8').includes(listen));
  // Not on the host's own loopback: only the forward reaches it.
  await assert.rejects(fetch(`http://${listen}/v2/`, { signal: AbortSignal.timeout(2000) }));

  assert.deepEqual(processesMentioning(cluster).sort(), [fwd.pid, pid].sort());
  await stopProcesses([pid, fwd.pid], { graceMs: 5000 });
  await deleteNetns(NETNS);
  assert.equal(isAlive(pid), false);
  assert.deepEqual(processesMentioning(cluster), []);
  assert.equal((await listNetns()).includes(NETNS), false);
});

test('qemu node configs name the installer on the cluster registry and reach it over plain HTTP; they validate for metal', async () => {
  const plan = planNetwork('oci', { controlplanes: 1, workers: 1, cidr: '10.111.36.0/24' });
  const ref = installerReference(plan, 'v0.1.0');
  assert.equal(ref, '10.111.36.1:5000/talos-ts/installer:v0.1.0');
  const generated = generateMachineConfigs({ clusterName: 'oci', endpoint: 'https://10.111.36.2:6443', secrets: toConfigSecrets(await generateSecretsBundle()) });
  const r = applyPatches(generated.controlplane, [installerPatch(plan, ref)]);
  assert.ok(r.value, r.error?.message);
  const machine = r.value.config.machine;
  assert.equal(machine?.install?.image, ref);
  assert.deepEqual(machine?.registries?.mirrors?.['10.111.36.1:5000'], { endpoints: ['http://10.111.36.1:5000'] });
  assert.deepEqual(validateConfig(r.value, { mode: 'metal' }).errors, []);
});
