import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { pushImageLayout, writeInstallerLayout, type ImageManifestDoc } from '@talos-ts/machinery';
import { hasDockerRegistry, signedInstallerImage, startRegistry, type RegistryServer } from '@talos-ts/testkit';
import { installFromConfig } from './install.ts';

// Every way an installer image reference can be bad, against the real docker-registry, through
// the install a node runs: each is a typed error naming the reference and why, and the target
// disk (a sparse file) still has no block written.

const ADDRESS = '127.0.41.1';
const DOWN = `${ADDRESS}:5149`;
const GiB = 1024 ** 3;
const skip = hasDockerRegistry() ? false : 'docker-registry is not installed (scripts/ensure-deps.sh test)';
let registry: RegistryServer;
let dir: string;
const good = signedInstallerImage('v1.1.0');

/** Pushes an installer image made of `files` as `repo:tag`; returns its manifest. */
async function push(repo: string, tag: string, files: Record<string, Buffer>): Promise<ImageManifestDoc> {
  const src = join(dir, `${repo.replace(/\//g, '_')}-${tag}`);
  mkdirSync(src, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(src, name), bytes);
  writeInstallerLayout({ dir: join(src, 'layout'), files: Object.keys(files).map((n) => [n, join(src, n)] as const), version: tag, revision: 'test' });
  await pushImageLayout(join(src, 'layout'), `${registry.host}/${repo}:${tag}`);
  const index = JSON.parse(readFileSync(join(src, 'layout/index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  return JSON.parse(readFileSync(join(src, 'layout/blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as ImageManifestDoc;
}

/** A fresh sparse disk file of `sizeBytes`, never written. */
function blankDisk(name: string, sizeBytes: number): string {
  const disk = join(dir, name);
  closeSync(openSync(disk, 'w'));
  truncateSync(disk, sizeBytes);
  return disk;
}

/** Runs the install of `image` on a fresh 6 GiB disk; returns the error and asserts the disk kept no block. */
async function installError(image: string, options: { trustedKeyPem?: string; diskBytes?: number } = {}): Promise<TalosError> {
  const size = options.diskBytes ?? 6 * GiB;
  const disk = blankDisk(`disk-${Math.random().toString(36).slice(2)}.raw`, size);
  let error: unknown;
  try {
    await installFromConfig({ install: { disk, image }, configYaml: 'version: v1alpha1\n', workDir: join(dir, 'work'), diskSizeBytes: () => size, trustedKeyPem: options.trustedKeyPem ?? good.trustedKeyPem });
  } catch (err) {
    error = err;
  }
  const st = statSync(disk);
  rmSync(disk);
  assert.ok(error instanceof TalosError, `the install of ${image} failed with a TalosError (got ${String(error)})`);
  assert.equal(st.size, size, 'disk size unchanged');
  assert.equal(st.blocks, 0, 'no block of the disk was written');
  return error;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'b12-oci-bad-'));
  if (!skip) registry = await startRegistry({ address: ADDRESS, port: 5141 });
});

after(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('install over OCI: a tag the repository does not have is NotFound naming the reference and the tags it has', { skip }, async () => {
  await push('talos/installer', 'v1.1.0', good.files);
  const ref = `${registry.host}/talos/installer:v9.9.9`;
  const e = await installError(ref);
  assert.equal(e.code, Code.NotFound);
  assert.ok(e.message.includes(ref), e.message);
  assert.match(e.message, /HTTP 404 MANIFEST_UNKNOWN: manifest unknown; repository talos\/installer has tags v1\.1\.0$/);
});

test('install over OCI: a repository the registry does not have is NotFound saying the repository does not exist', { skip }, async () => {
  const ref = `${registry.host}/talos/no-such-installer:v1.1.0`;
  const e = await installError(ref);
  assert.equal(e.code, Code.NotFound);
  assert.ok(e.message.includes(ref), e.message);
  assert.match(e.message, /: repository talos\/no-such-installer does not exist on 127\.0\.41\.1:5141 \(HTTP 404 NAME_UNKNOWN: repository name not known to registry\)$/);
});

test('install over OCI: a registry with nothing listening is Unavailable naming the reference and the refused connection', { skip }, async () => {
  const ref = `${DOWN}/talos/installer:v1.1.0`;
  const e = await installError(ref);
  assert.equal(e.code, Code.Unavailable);
  assert.ok(e.message.startsWith(`${ref}: registry unreachable`), e.message);
  assert.match(e.message, /ECONNREFUSED/);
});

test('install over OCI: a layer whose bytes no longer match its digest in the registry\'s storage is DataLoss naming the blob', { skip }, async () => {
  const other = signedInstallerImage('v1.2.0');
  const manifest = await push('talos/corrupt', 'v1.2.0', other.files);
  const layer = manifest.layers[0]!;
  const blob = registry.blobPath(layer.digest);
  const bytes = readFileSync(blob);
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
  writeFileSync(blob, bytes);
  const ref = `${registry.host}/talos/corrupt:v1.2.0`;
  const e = await installError(ref, { trustedKeyPem: other.trustedKeyPem });
  assert.equal(e.code, Code.DataLoss);
  assert.ok(e.message.includes(ref) && e.message.includes(layer.digest), e.message);
  assert.match(e.message, /corrupt in the registry or in transit/);
});

test('install over OCI: an image whose manifest another key signed is PermissionDenied naming the reference', { skip }, async () => {
  const stranger = signedInstallerImage('v1.3.0');
  await push('talos/installer', 'v1.3.0', stranger.files);
  const ref = `${registry.host}/talos/installer:v1.3.0`;
  const e = await installError(ref, { trustedKeyPem: good.trustedKeyPem });
  assert.equal(e.code, Code.PermissionDenied);
  assert.ok(e.message.includes(ref), e.message);
  assert.match(e.message, /not signed by the key this node trusts/);
});

test('install: a disk below upstream\'s layout is FailedPrecondition naming the disk, its size and the size needed, before any download', { skip }, async () => {
  // The registry named is down: had the install fetched first, this would be Unavailable.
  const e = await installError(`${DOWN}/talos/installer:v1.1.0`, { diskBytes: 1 * GiB });
  assert.equal(e.code, Code.FailedPrecondition);
  assert.match(e.message, /^machine\.install\.disk: \S+disk-\w+\.raw: disk is too small: 1024 MiB, Talos needs at least 4252 MiB \(EFI 100, BIOS 1, BOOT 2000, META 1, STATE 100, EPHEMERAL 2048\+ MiB/);
  assert.match(e.message, /nothing fetched or written$/);
});
