import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { GRUB_CORE_MODULES, GRUB_PREFIX, MIN_DISK_BYTES } from '@talos-ts/machinery';
import { readGpt } from '../linux/disk.ts';
import { installToDisk, planInstall, type InstallAssets } from './install.ts';

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
