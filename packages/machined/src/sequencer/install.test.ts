import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { GRUB_CORE_MODULES, GRUB_PREFIX, MIN_DISK_BYTES } from '@talos-ts/machinery';
import { readGpt } from '../linux/disk.ts';
import { fetchInstallAssets, installFromConfig, installToDisk, planInstall, type InstallAssets } from './install.ts';

const GiB = 1024 ** 3;
const ready = existsSync('/usr/lib/grub/i386-pc/boot.img') && existsSync('/usr/sbin/mkfs.xfs');
const skip = !ready && 'needs grub-pc-bin and xfsprogs';

function assets(dir: string): InstallAssets {
  for (const f of ['vmlinuz', 'initramfs.img', 'rootfs.cpio']) writeFileSync(join(dir, f), `${f} `.repeat(5000));
  execFileSync('grub-mkimage', ['-O', 'i386-pc', '-o', join(dir, 'core.img'), '-p', GRUB_PREFIX, ...GRUB_CORE_MODULES]);
  return { kernel: join(dir, 'vmlinuz'), initramfs: join(dir, 'initramfs.img'), rootfsCpio: join(dir, 'rootfs.cpio'), bootImg: '/usr/lib/grub/i386-pc/boot.img', coreImg: join(dir, 'core.img') };
}

/** `xfs_db ls` of one partition of a disk file (copied out sparse). */
function lsPartition(dir: string, disk: string, start: number, size: number, paths: string[]): string {
  const fs = join(dir, 'part.xfs');
  execFileSync('dd', [`if=${disk}`, `of=${fs}`, 'bs=512', `skip=${start}`, `count=${size}`, 'conv=sparse', 'status=none']);
  try {
    return execFileSync('xfs_db', ['-r', '-c', 'label', ...paths.flatMap((p) => ['-c', `ls ${p}`]), fs], { encoding: 'utf8' });
  } finally {
    rmSync(fs, { force: true });
  }
}

test('planInstall: an existing Talos install is kept unless wiped; a small disk is refused', () => {
  const fresh = planInstall({ diskSizeBytes: 6 * GiB });
  assert.ok('value' in fresh && fresh.value.install);
  const kept = planInstall({ diskSizeBytes: 6 * GiB, current: fresh.value.layout });
  assert.ok('value' in kept && !kept.value.install && kept.value.layout === fresh.value.layout);
  const wiped = planInstall({ diskSizeBytes: 6 * GiB, current: fresh.value.layout, wipe: true });
  assert.ok('value' in wiped && wiped.value.install && wiped.value.layout.diskGuid !== fresh.value.layout.diskGuid);
  const small = planInstall({ diskSizeBytes: MIN_DISK_BYTES - 1024 * 1024 });
  assert.ok('error' in small && /too small/.test(small.error));
});

test('installToDisk: GPT, GRUB, BOOT with slot A and grub files, STATE with the config; again without wipe writes nothing, with wipe rewrites', { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-'));
  try {
    const a = assets(dir);
    const disk = join(dir, 'disk.raw');
    closeSync(openSync(disk, 'w'));
    truncateSync(disk, 6 * GiB);
    const r = installToDisk({ disk, diskSizeBytes: 6 * GiB, assets: a, configYaml: 'version: v1alpha1\n', extraKernelArgs: ['ip=dhcp'], workDir: join(dir, 'work') });
    assert.equal(r.installed, true);
    assert.deepEqual(r.phases.map((p) => p.name), ['verifyDisk', 'partition', 'bootloader', 'state']);
    const t = (JSON.parse(execFileSync('sfdisk', ['--json', disk], { encoding: 'utf8' })) as { partitiontable: { partitions: Array<{ name: string; start: number; size: number }> } }).partitiontable.partitions;
    assert.deepEqual(t.map((p) => p.name), ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL']);
    const boot = lsPartition(dir, disk, t[2]!.start, t[2]!.size, ['/A', '/grub']);
    assert.match(boot, /label = "BOOT"/);
    for (const f of ['vmlinuz', 'initramfs\\.img', 'rootfs\\.cpio', 'grub\\.cfg', 'grubenv']) assert.match(boot, new RegExp(`regular .* ${f} \\(good\\)`));
    const state = lsPartition(dir, disk, t[4]!.start, t[4]!.size, ['/']);
    assert.match(state, /label = "STATE"/);
    assert.match(state, /regular .* config\.yaml \(good\)/);
    const mbr = Buffer.alloc(512);
    const fd = openSync(disk, 'r+');
    readSync(fd, mbr, 0, 512, 0);
    assert.equal(mbr.readBigUInt64LE(0x5c), BigInt(t[1]!.start));
    // Something that looks like an old EPHEMERAL filesystem: a wiping install must clear it.
    writeSync(fd, Buffer.from('XFSB'), 0, 4, t[5]!.start * 512);
    closeSync(fd);
    const guid = (readGpt(disk) as { value: { diskGuid: string } }).value.diskGuid;

    const again = installToDisk({ disk, diskSizeBytes: 6 * GiB, assets: a, configYaml: 'x', workDir: join(dir, 'work') });
    assert.equal(again.installed, false);
    assert.equal((readGpt(disk) as { value: { diskGuid: string } }).value.diskGuid, guid);

    const wiped = installToDisk({ disk, diskSizeBytes: 6 * GiB, assets: a, configYaml: 'x', wipe: true, workDir: join(dir, 'work') });
    assert.equal(wiped.installed, true);
    assert.notEqual((readGpt(disk) as { value: { diskGuid: string } }).value.diskGuid, guid);
    const head = Buffer.alloc(4);
    const fd2 = openSync(disk, 'r');
    readSync(fd2, head, 0, 4, t[5]!.start * 512);
    closeSync(fd2);
    assert.deepEqual([...head], [0, 0, 0, 0]);
    assert.ok(!existsSync(join(dir, 'work')), 'scratch space removed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('installToDisk: a disk below upstream\'s minimum fails with FailedPrecondition before anything is written', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-'));
  try {
    const disk = join(dir, 'small.raw');
    closeSync(openSync(disk, 'w'));
    truncateSync(disk, 2 * GiB);
    assert.throws(
      () => installToDisk({ disk, diskSizeBytes: 2 * GiB, assets: assets(dir), configYaml: 'x', workDir: join(dir, 'work') }),
      (e: unknown) => e instanceof TalosError && e.code === Code.FailedPrecondition && /too small: 2048 MiB/.test(e.message),
    );
    assert.ok('error' in readGpt(disk), 'nothing written');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Serves a directory over HTTP on this suite's loopback address; returns its base URL and a closer. */
async function serveDir(dir: string): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    // installToDisk blocks the event loop for seconds; a kept-alive socket would then be closed by
    // this server just as fetch reuses it (ECONNRESET).
    res.setHeader('connection', 'close');
    const name = decodeURIComponent((req.url ?? '/').split('?')[0]!.replace(/^\/img\//, ''));
    const file = join(dir, name);
    if (name.includes('/') || !existsSync(file)) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.end(readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.21.20', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.21.20:${port}/img/`, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** An Ed25519 key pair as the imager uses: the public key PEM a node trusts, and the signer. */
function signingKey(): { pem: string; key: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return { pem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), key: privateKey };
}

/** Writes manifest.json (digests of the installer files) and manifest.sig signed with `key`. */
function writeManifest(dir: string, key: KeyObject, extra: Record<string, unknown> = {}): void {
  const artifacts: Record<string, { sizeBytes: number; sha256: string }> = {};
  for (const f of ['vmlinuz', 'initramfs.img', 'rootfs.cpio', 'boot.img', 'core.img']) {
    const b = readFileSync(join(dir, f));
    artifacts[f] = { sizeBytes: b.length, sha256: createHash('sha256').update(b).digest('hex') };
  }
  const bytes = Buffer.from(JSON.stringify({ schema: 1, version: '0.2.0', artifacts, ...extra }));
  writeFileSync(join(dir, 'manifest.json'), bytes);
  writeFileSync(join(dir, 'manifest.sig'), `${sign(null, createHash('sha256').update(bytes).digest(), key).toString('base64')}\n`);
}

test('installFromConfig: fetches the installer from an image URL, checks digests, installs; a changed file is refused', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-'));
  const img = join(dir, 'img');
  mkdirSync(img);
  const a = assets(img);
  copyFileSync(a.bootImg, join(img, 'boot.img'));
  const trusted = signingKey();
  writeManifest(img, trusted.key);
  const srv = await serveDir(img);
  const trustedKeyPem = trusted.pem;
  try {
    const disk = join(dir, 'disk.raw');
    closeSync(openSync(disk, 'w'));
    truncateSync(disk, 6 * GiB);
    const size = (): number => 6 * GiB;
    const none = await installFromConfig({ install: {}, configYaml: 'x', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem });
    assert.equal(none, undefined);
    await assert.rejects(installFromConfig({ install: { disk, image: 'ftp://127.0.29.1/img' }, configYaml: 'x', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem }), (e: unknown) => e instanceof TalosError && e.code === Code.InvalidArgument && /only http\(s\) URLs and image references/.test(e.message));
    await assert.rejects(installFromConfig({ install: { disk, image: 'ghcr.io/Bad/installer:v1' }, configYaml: 'x', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem }), (e: unknown) => e instanceof TalosError && e.code === Code.InvalidArgument && /repository/.test(e.message));
    await assert.rejects(installFromConfig({ install: { disk: join(dir, 'nope'), image: 'ghcr.io/x/installer:v1' }, configYaml: 'x', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem }), (e: unknown) => e instanceof TalosError && e.code === Code.NotFound);

    const r = await installFromConfig({ install: { disk, image: srv.url, extraKernelArgs: ['talos.dashboard.disabled=1'] }, configYaml: 'version: v1alpha1\n', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem });
    assert.equal(r?.installed, true);
    assert.ok(!existsSync(join(dir, 'w')), 'scratch space removed');
    const again = await installFromConfig({ install: { disk, image: srv.url }, configYaml: 'x', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem });
    assert.equal(again?.installed, false);

    writeFileSync(join(img, 'rootfs.cpio'), 'tampered');
    await assert.rejects(
      installFromConfig({ install: { disk, image: srv.url, wipe: true }, configYaml: 'x', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem }),
      (e: unknown) => e instanceof TalosError && e.code === Code.DataLoss && /rootfs\.cpio: sha256 [0-9a-f]{64} does not match/.test(e.message),
    );
    rmSync(join(img, 'manifest.json'));
    await assert.rejects(fetchInstallAssets(srv.url, join(dir, 'w2'), { trustedKeyPem }), (e: unknown) => e instanceof TalosError && e.code === Code.NotFound);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
  await assert.rejects(fetchInstallAssets(srv.url, join(dir, 'w3'), { trustedKeyPem: undefined }), (e: unknown) => e instanceof TalosError && e.code === Code.Unavailable);
});

test('installFromConfig: an installer signed by another key than the running image trusts is PermissionDenied and the disk stays blank', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'install-'));
  const img = join(dir, 'img');
  mkdirSync(img);
  const a = assets(img);
  copyFileSync(a.bootImg, join(img, 'boot.img'));
  const trusted = signingKey();
  writeManifest(img, signingKey().key);
  const srv = await serveDir(img);
  try {
    const disk = join(dir, 'disk.raw');
    closeSync(openSync(disk, 'w'));
    truncateSync(disk, 6 * GiB);
    const size = (): number => 6 * GiB;
    await assert.rejects(
      installFromConfig({ install: { disk, image: srv.url }, configYaml: 'x', workDir: join(dir, 'w'), diskSizeBytes: size, trustedKeyPem: trusted.pem }),
      (e: unknown) => e instanceof TalosError && e.code === Code.PermissionDenied && /not signed by the key this node trusts/.test(e.message),
    );
    assert.ok('error' in readGpt(disk), 'nothing written');
    // Signed by the trusted key, the image's own kernel arguments come before the config's.
    writeManifest(img, trusted.key, { extraKernelArgs: ['quiet'] });
    const f = await fetchInstallAssets(srv.url, join(dir, 'w4'), { trustedKeyPem: trusted.pem });
    assert.equal(f.version, '0.2.0');
    assert.deepEqual(f.extraKernelArgs, ['quiet']);
  } finally {
    await srv.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
