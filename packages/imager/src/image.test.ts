import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { openSync, readSync, writeSync, closeSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { generateKey, TRUSTED_IMAGE_KEY_PATH } from '@talos-ts/machinery';
import { execFileSync } from 'node:child_process';
import { DISK_IMAGE, GRUB_I386_PC_DIR, InstallerAsset } from './build/disk.ts';
import { buildImage, listSquashfs, type BuiltImage } from './build/image.ts';
import { ArtifactName, KERNEL_ELF, MANIFEST_FILE, PUBLIC_KEY_FILE, verifyImage } from './manifest.ts';
import { forbiddenPaths } from './policy.ts';

const repoRoot = new URL('../../..', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'imager-test-'));
let image: BuiltImage;

before(async () => {
  image = await buildImage({ repoRoot, outDir: out, compression: 'fast', reuseBuild: true });
});

after(() => rmSync(out, { recursive: true, force: true }));

function flipByte(path: string, offset: number): () => void {
  const fd = openSync(path, 'r+');
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, offset);
  const original = b[0] as number;
  writeSync(fd, Buffer.from([original ^ 0x01]), 0, 1, offset);
  closeSync(fd);
  return () => {
    const fd2 = openSync(path, 'r+');
    writeSync(fd2, Buffer.from([original]), 0, 1, offset);
    closeSync(fd2);
  };
}

test('image: the SquashFS listing holds Node, our bundles, the addon, etcd, containerd, runc and modules, and no shell or coreutils', async () => {
  const paths = await listSquashfs(join(image.dir, ArtifactName.rootfs));
  for (const want of ['/usr/bin/node', '/usr/lib/talos/machined.cjs', '/usr/lib/talos/machined.bundle.cjs', '/usr/lib/talos/machined.bundle.cjs.cache', '/usr/lib/talos/apid.cjs', '/usr/lib/talos/trustd.cjs', '/usr/lib/talos/talos_native.node', '/usr/bin/etcd', '/usr/bin/containerd', '/usr/bin/runc']) {
    assert.ok(paths.includes(want), `${want} missing from the image`);
  }
  assert.ok(paths.some((p) => /libseccomp\.so/.test(p)), 'libseccomp missing (runc needs it)');
  assert.ok(paths.some((p) => /\/lib\/modules\/[^/]+\/modules\.softdep$/.test(p)));
  assert.ok(paths.some((p) => /\/nf_tables\.ko$/.test(p)));
  assert.deepEqual(forbiddenPaths(paths), []);
  // The check itself must be able to fail.
  assert.deepEqual(forbiddenPaths([...paths, '/bin/sh', '/usr/bin/busybox']), ['/bin/sh', '/usr/bin/busybox']);
});

test('image: the manifest lists every root file with its digest and the versions', () => {
  const m = image.manifest;
  assert.equal(m.version, JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version);
  assert.match(m.gitRevision, /^[0-9a-f]{40}(-dirty)?$/);
  assert.match(m.rootfsFiles['/usr/bin/node'] ?? '', /^[0-9a-f]{64}$/);
  assert.match(m.initramfsFiles['/init'] ?? '', /^[0-9a-f]{64}$/);
  assert.deepEqual(Object.keys(m.artifacts).sort(), [...Object.values(ArtifactName), ...Object.values(InstallerAsset), KERNEL_ELF].sort());
});

test('image: the root carries the public key that signed it, where a node looks for the key it trusts', () => {
  const key = image.manifest.rootfsFiles[TRUSTED_IMAGE_KEY_PATH];
  assert.ok(key, `${TRUSTED_IMAGE_KEY_PATH} missing from the root`);
  assert.equal(key, createHash('sha256').update(readFileSync(join(image.dir, PUBLIC_KEY_FILE))).digest('hex'));
});

test('image: disk.raw has upstream\'s GPT, GRUB in the MBR pointing at the BIOS partition, and BOOT (XFS) with grub.cfg, grubenv and slot A', () => {
  const disk = join(image.dir, DISK_IMAGE);
  const t = (JSON.parse(execFileSync('sfdisk', ['--json', disk], { encoding: 'utf8' })) as { partitiontable: { partitions: Array<{ name: string; start: number; size: number }> } }).partitiontable;
  assert.deepEqual(t.partitions.map((p) => p.name), ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL']);
  const [, bios, boot] = t.partitions;
  assert.ok(bios && boot);
  const fd = openSync(disk, 'r');
  const mbr = Buffer.alloc(512);
  const core = Buffer.alloc(512);
  readSync(fd, mbr, 0, 512, 0);
  readSync(fd, core, 0, 512, bios.start * 512);
  closeSync(fd);
  assert.deepEqual(mbr.subarray(0x68, 0x1b8), readFileSync(join(GRUB_I386_PC_DIR, 'boot.img')).subarray(0x68, 0x1b8));
  assert.equal(mbr.readBigUInt64LE(0x5c), BigInt(bios.start));
  assert.equal(mbr[0x1c2], 0xee, 'protective MBR entry kept');
  assert.equal(core.readBigUInt64LE(500), BigInt(bios.start + 1));
  const bootFs = join(out, 'boot.xfs');
  execFileSync('dd', [`if=${disk}`, `of=${bootFs}`, 'bs=512', `skip=${boot.start}`, `count=${boot.size}`, 'conv=sparse', 'status=none']);
  try {
    const ls = execFileSync('xfs_db', ['-r', '-c', 'label', '-c', 'ls /A', '-c', 'ls /grub', bootFs], { encoding: 'utf8' });
    assert.match(ls, /label = "BOOT"/);
    for (const f of ['vmlinuz', 'initramfs.img', 'rootfs.cpio', 'grub.cfg', 'grubenv']) assert.match(ls, new RegExp(`regular .* ${f.replace('.', '\\.')} \\(good\\)`));
  } finally {
    rmSync(bootFs, { force: true });
  }
});

test('verify: accepts the image as built and rejects a one-byte change in any artifact or the manifest', async () => {
  assert.ok('value' in (await verifyImage(image.dir)));
  for (const name of [...Object.values(ArtifactName), KERNEL_ELF, MANIFEST_FILE]) {
    const restore = flipByte(join(image.dir, name), 1000 % (image.manifest.artifacts[name]?.sizeBytes ?? 200));
    try {
      const r = await verifyImage(image.dir);
      assert.ok('error' in r, `${name}: a flipped byte was accepted`);
      assert.match(r.error, name === MANIFEST_FILE ? /signature does not match/ : new RegExp(`${name.replace('.', '\\.')}: sha256`));
    } finally {
      restore();
    }
  }
  assert.ok('value' in (await verifyImage(image.dir)));
});

test('verify: a signature from another key is rejected when the trusted key is given', async () => {
  const other = await generateKey('ed25519');
  const otherPub = other.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const r = await verifyImage(image.dir, { publicKeyPem: otherPub });
  assert.ok('error' in r && /signature does not match/.test(r.error));
  const ownPub = readFileSync(join(image.dir, 'signing-key.pub'), 'utf8');
  assert.ok('value' in (await verifyImage(image.dir, { publicKeyPem: ownPub })));
  // A deleted signature is an error, not a pass.
  const sig = readFileSync(join(image.dir, 'manifest.sig'));
  writeFileSync(join(image.dir, 'manifest.sig'), '');
  try {
    assert.ok('error' in (await verifyImage(image.dir)));
  } finally {
    writeFileSync(join(image.dir, 'manifest.sig'), sig);
  }
});
