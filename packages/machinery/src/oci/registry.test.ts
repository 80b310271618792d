import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { hasDockerRegistry, startRegistry, type RegistryServer } from '@talos-ts/testkit';
import { extractLayer } from './extract.ts';
import { writeInstallerLayout } from './layout.ts';
import { Annotation, INSTALLER_ASSET_DIR, MediaType } from './media.ts';
import { pullImage, pushImageLayout, registryEndpoints } from './registry.ts';

// The real docker-registry (Debian's distribution 2.8) on this helper's loopback range.
const ADDRESS = '127.0.36.1';
const skip = hasDockerRegistry() ? false : 'docker-registry is not installed (scripts/ensure-deps.sh test)';
let registry: RegistryServer;
let dir: string;
let layout: string;
const files: Record<string, Buffer> = {
  vmlinuz: Buffer.alloc(3 << 20, 1),
  'initramfs.img': Buffer.from('initramfs'),
  'manifest.json': Buffer.from('{"schema":1}\n'),
};

const isCode = (code: Code) => (e: unknown): boolean => e instanceof TalosError && e.code === code;

before(async () => {
  if (skip) return;
  registry = await startRegistry({ address: ADDRESS, port: 5101 });
  dir = mkdtempSync(join(tmpdir(), 'oci-registry-'));
  for (const [n, b] of Object.entries(files)) writeFileSync(join(dir, n), b);
  layout = join(dir, 'layout');
  writeInstallerLayout({ dir: layout, files: Object.keys(files).map((n) => [n, join(dir, n)] as const), version: 'v0.1.0', revision: 'abc123' });
});

after(async () => {
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('an installer layout pushed to docker-registry pulls back with every file intact', { skip }, async () => {
  const ref = `${registry.host}/talos/installer:v0.1.0`;
  const pushed = await pushImageLayout(layout, ref);
  assert.equal(pushed.uploaded, 2);
  const pulled = await pullImage(ref, { dir: join(dir, 'pull1') });
  assert.equal(pulled.manifestDigest, pushed.manifestDigest);
  assert.equal(pulled.manifest.annotations?.[Annotation.version], 'v0.1.0');
  assert.equal(pulled.manifest.layers[0]?.mediaType, MediaType.ociLayer);
  const out = join(dir, 'out1');
  const names = await extractLayer({ path: pulled.layers[0]!.path, mediaType: pulled.layers[0]!.descriptor.mediaType, dest: out, select: (e) => (e.name.startsWith(`${INSTALLER_ASSET_DIR}/`) ? e.name.slice(INSTALLER_ASSET_DIR.length + 1) : undefined) });
  assert.deepEqual(names.sort(), Object.keys(files).sort());
  for (const [n, b] of Object.entries(files)) assert.ok(readFileSync(join(out, n)).equals(b), n);
});

test('a second push of the same image uploads no blob; a pull by digest gets the same manifest', { skip }, async () => {
  const pushed = await pushImageLayout(layout, `${registry.host}/talos/installer:again`);
  assert.deepEqual([pushed.uploaded, pushed.skipped], [0, 2]);
  const pulled = await pullImage(`${registry.host}/talos/installer@${pushed.manifestDigest}`, { dir: join(dir, 'pull2') });
  assert.equal(pulled.manifestDigest, pushed.manifestDigest);
});

test('the same files written twice give the same layer and manifest digests', { skip }, () => {
  const again = writeInstallerLayout({ dir: join(dir, 'layout2'), files: Object.keys(files).map((n) => [n, join(dir, n)] as const), version: 'v0.1.0', revision: 'abc123' });
  const first = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  assert.equal(again.digest, first.manifests[0]!.digest);
});

test('an unknown tag or repository is NotFound, and nothing is left behind', { skip }, async () => {
  await pushImageLayout(layout, `${registry.host}/talos/installer:v0.1.0`);
  await assert.rejects(pullImage(`${registry.host}/talos/installer:v9`, { dir: join(dir, 'nf1') }), isCode(Code.NotFound));
  await assert.rejects(pullImage(`${registry.host}/talos/nothing:v1`, { dir: join(dir, 'nf2') }), isCode(Code.NotFound));
  assert.equal(existsSync(join(dir, 'nf1', 'blobs', 'sha256')) ? readdirSync(join(dir, 'nf1', 'blobs', 'sha256')).length : 0, 0);
});

test('a registry that does not answer is Unavailable', { skip }, async () => {
  await assert.rejects(pullImage(`${ADDRESS}:5109/talos/installer:v1`, { dir: join(dir, 'down') }), isCode(Code.Unavailable));
  await assert.rejects(pushImageLayout(layout, `${ADDRESS}:5109/talos/installer:v1`), isCode(Code.Unavailable));
});

test('a mirror endpoint that is down falls back to the next one', { skip }, async () => {
  const mirrors = { 'registry.example': { endpoints: [`http://${ADDRESS}:5109`, `http://${registry.host}/`], skipFallback: true } };
  assert.deepEqual(registryEndpoints('registry.example', mirrors), [`http://${ADDRESS}:5109`, `http://${registry.host}`]);
  const pulled = await pullImage('registry.example/talos/installer:v0.1.0', { dir: join(dir, 'mirror'), mirrors });
  assert.equal(pulled.layers.length, 1);
});

test('a layer corrupted in the registry storage is DataLoss and its blob is not kept', { skip }, async () => {
  const r = await startRegistry({ address: ADDRESS, port: 5102 });
  try {
    const ref = `${r.host}/talos/installer:v0.1.0`;
    await pushImageLayout(layout, ref);
    const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
    const hex = index.manifests[0]!.digest.slice(7);
    const manifest = JSON.parse(readFileSync(join(layout, 'blobs/sha256', hex), 'utf8')) as { layers: Array<{ digest: string }> };
    const blob = r.blobPath(manifest.layers[0]!.digest);
    const bytes = readFileSync(blob);
    bytes[2000] = bytes[2000]! ^ 0xff;
    writeFileSync(blob, bytes);
    const pullDir = join(dir, 'corrupt');
    await assert.rejects(pullImage(ref, { dir: pullDir }), (e: unknown) => isCode(Code.DataLoss)(e) && /corrupt/.test((e as Error).message));
    const left = readdirSync(join(pullDir, 'blobs', 'sha256'));
    assert.ok(!left.includes(manifest.layers[0]!.digest.slice(7)) && !left.some((n) => n.endsWith('.part')), left.join(','));
  } finally {
    await r.stop();
  }
});

test('registries are plain HTTP only on loopback; docker.io is reached at registry-1', () => {
  assert.deepEqual(registryEndpoints('127.0.36.1:5000'), ['http://127.0.36.1:5000']);
  assert.deepEqual(registryEndpoints('localhost:5000'), ['http://localhost:5000']);
  assert.deepEqual(registryEndpoints('ghcr.io'), ['https://ghcr.io']);
  assert.deepEqual(registryEndpoints('docker.io'), ['https://registry-1.docker.io']);
  assert.deepEqual(registryEndpoints('ghcr.io', { 'ghcr.io': { endpoints: ['http://10.5.0.1:5000/v2/'] } }), ['http://10.5.0.1:5000', 'https://ghcr.io']);
});
