import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { GRUB_CORE_MODULES, GRUB_PREFIX, pushImageLayout, writeInstallerLayout, type ImageManifestDoc } from '@talos-ts/machinery';
import { hasDockerRegistry, startRegistry, type RegistryServer } from '@talos-ts/testkit';
import { fetchInstallAssets, installFromConfig } from './install.ts';
import { pullInstallAssets } from './oci-install.ts';

const GiB = 1024 ** 3;
const ADDRESS = '127.0.36.3';
const skip = hasDockerRegistry() ? false : 'docker-registry is not installed (scripts/ensure-deps.sh test)';
const canInstall = existsSync('/usr/lib/grub/i386-pc/boot.img') && existsSync('/usr/sbin/mkfs.xfs');
const FILES = ['vmlinuz', 'initramfs.img', 'rootfs.cpio', 'boot.img', 'core.img'];
let dir: string;
let registry: RegistryServer;
/** The key the "running image" trusts, and another one. */
const trusted = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ed25519');
const trustedKeyPem = trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString();

const isCode = (code: Code, re?: RegExp) => (e: unknown): boolean => e instanceof TalosError && e.code === code && (!re || re.test(e.message));

/** An installer image directory with small files, its manifest, a signature and key, pushed as `tag`. */
async function pushInstaller(name: string, tag: string, tamper?: string, signer = trusted.privateKey): Promise<string> {
  const img = join(dir, name);
  execFileSync('mkdir', ['-p', img]);
  for (const f of ['vmlinuz', 'initramfs.img', 'rootfs.cpio']) writeFileSync(join(img, f), `${name} ${f} `.repeat(20000));
  writeFileSync(join(img, 'boot.img'), readFileSync('/usr/lib/grub/i386-pc/boot.img'));
  execFileSync('grub-mkimage', ['-O', 'i386-pc', '-o', join(img, 'core.img'), '-p', GRUB_PREFIX, ...GRUB_CORE_MODULES]);
  const artifacts: Record<string, { sizeBytes: number; sha256: string }> = {};
  for (const f of FILES) {
    const b = readFileSync(join(img, f));
    artifacts[f] = { sizeBytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  }
  const manifest = Buffer.from(JSON.stringify({ schema: 1, version: tag, artifacts }));
  writeFileSync(join(img, 'manifest.json'), manifest);
  writeFileSync(join(img, 'manifest.sig'), `${sign(null, createHash('sha256').update(manifest).digest(), signer).toString('base64')}\n`);
  writeFileSync(join(img, 'signing-key.pub'), trustedKeyPem);
  if (tamper) writeFileSync(join(img, tamper), 'changed after signing');
  const files = [...FILES, 'manifest.json', 'manifest.sig', 'signing-key.pub'].map((f) => [f, join(img, f)] as const);
  writeInstallerLayout({ dir: join(img, 'installer'), files, version: tag, revision: 'test' });
  await pushImageLayout(join(img, 'installer'), `${registry.host}/talos/installer:${tag}`);
  return img;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'oci-install-'));
  if (!skip && canInstall) registry = await startRegistry({ address: ADDRESS, port: 5104 });
});

after(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const needs = skip || (!canInstall && 'needs grub-pc-bin and xfsprogs');

test('an installer pulled from docker-registry gives every install file, the signed manifest and its signature, and no scratch', { skip: needs }, async () => {
  const img = await pushInstaller('img1', 'v0.1.0');
  const out = join(dir, 'pulled', 'assets');
  const assets = await pullInstallAssets(`${registry.host}/talos/installer:v0.1.0`, out);
  for (const f of FILES) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(img, f))), f);
  assert.equal(assets.rootfsCpio, join(out, 'rootfs.cpio'));
  assert.equal(readFileSync(join(out, 'manifest.sig'), 'utf8'), readFileSync(join(img, 'manifest.sig'), 'utf8'));
  assert.deepEqual(readdirSync(join(dir, 'pulled')), ['assets']);
});

test('machine.install.image as an OCI reference installs the disk from the registry', { skip: needs, timeout: 120_000 }, async () => {
  await pushInstaller('img2', 'v0.2.0');
  const disk = join(dir, 'disk.raw');
  closeSync(openSync(disk, 'w'));
  truncateSync(disk, 6 * GiB);
  try {
    const r = await installFromConfig({ install: { disk, image: `${registry.host}/talos/installer:v0.2.0` }, configYaml: 'version: v1alpha1\n', workDir: join(dir, 'w'), diskSizeBytes: () => 6 * GiB, trustedKeyPem });
    assert.equal(r?.installed, true);
    assert.deepEqual(r?.phases.map((p) => p.name), ['verifyDisk', 'partition', 'bootloader', 'state']);
    assert.ok(!existsSync(join(dir, 'w')));
  } finally {
    rmSync(disk, { force: true });
  }
});

test('a mirror from machine.registries reaches a registry named by another host over plain HTTP', { skip: needs }, async () => {
  await pushInstaller('img3', 'v0.3.0');
  const mirrors = { 'installer.talos.test': { endpoints: [`http://${registry.host}`], skipFallback: true } };
  const a = await fetchInstallAssets('installer.talos.test/talos/installer:v0.3.0', join(dir, 'm', 'assets'), { mirrors, trustedKeyPem });
  assert.ok(existsSync(a.kernel));
  assert.equal(a.version, 'v0.3.0');
});

test('an installer image signed by another key than the running image trusts is PermissionDenied', { skip: needs }, async () => {
  await pushInstaller('img-other', 'v0.6.0', undefined, other.privateKey);
  await assert.rejects(fetchInstallAssets(`${registry.host}/talos/installer:v0.6.0`, join(dir, 'o', 'assets'), { trustedKeyPem }), isCode(Code.PermissionDenied, /not signed by the key this node trusts/));
});

test('an unknown tag is NotFound, a registry down Unavailable, and neither leaves anything', { skip: needs }, async () => {
  const parent = join(dir, 'bad');
  await assert.rejects(pullInstallAssets(`${registry.host}/talos/installer:v9.9.9`, join(parent, 'a')), isCode(Code.NotFound, /v9\.9\.9/));
  await assert.rejects(pullInstallAssets(`${ADDRESS}:5109/talos/installer:v0.1.0`, join(parent, 'a')), isCode(Code.Unavailable));
  assert.deepEqual(readdirSync(parent), []);
});

test('a layer corrupted in the registry is DataLoss; a file that does not match the signed manifest is DataLoss; nothing is written', { skip: needs }, async () => {
  const img = await pushInstaller('img4', 'v0.4.0');
  const index = JSON.parse(readFileSync(join(img, 'installer/index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const m = JSON.parse(readFileSync(join(img, 'installer/blobs/sha256', index.manifests[0]!.digest.slice(7)), 'utf8')) as ImageManifestDoc;
  const blob = registry.blobPath(m.layers[0]!.digest);
  const bytes = readFileSync(blob);
  bytes[bytes.length - 5000] = bytes[bytes.length - 5000]! ^ 0x55;
  writeFileSync(blob, bytes);
  const parent = join(dir, 'corrupt');
  await assert.rejects(pullInstallAssets(`${registry.host}/talos/installer:v0.4.0`, join(parent, 'a')), isCode(Code.DataLoss, /corrupt in the registry/));
  await pushInstaller('img5', 'v0.5.0', 'rootfs.cpio');
  await assert.rejects(pullInstallAssets(`${registry.host}/talos/installer:v0.5.0`, join(parent, 'a')), isCode(Code.DataLoss, /rootfs\.cpio: sha256 [0-9a-f]{64} does not match the manifest/));
  assert.deepEqual(readdirSync(parent), []);
});
