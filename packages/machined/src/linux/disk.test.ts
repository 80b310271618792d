import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeGpt, talosLayout } from '@talos-ts/machinery';
import { formatXfs, hasXfs, listDisks, partitionDevice, readGpt } from './disk.ts';

const mkfs = '/usr/sbin/mkfs.xfs';

function withDir(fn: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'disk-'));
  try {
    fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('listDisks: whole disks only, loops, RAM disks and optical drives left out', () => {
  withDir((dir) => {
    for (const n of ['vda', 'loop0', 'ram1', 'sr0', 'nvme0n1', 'sda', 'dm-0']) mkdirSync(join(dir, n));
    assert.deepEqual(listDisks(dir), ['nvme0n1', 'sda', 'vda']);
    assert.deepEqual(listDisks(join(dir, 'missing')), []);
  });
});

test('partitionDevice: a disk name ending in a digit takes a p before the partition number', () => {
  assert.equal(partitionDevice('vda', 5), '/dev/vda5');
  assert.equal(partitionDevice('nvme0n1', 3), '/dev/nvme0n1p3');
  assert.equal(partitionDevice('mmcblk0', 1), '/dev/mmcblk0p1');
});

test('readGpt: a Talos table written to a file reads back; a blank file has none', () => {
  withDir((dir) => {
    const file = join(dir, 'disk');
    const r = talosLayout({ diskSizeBytes: 6 * 1024 ** 3 });
    assert.ok('value' in r);
    const enc = encodeGpt(r.value);
    const fd = openSync(file, 'w');
    writeSync(fd, enc.primary, 0, enc.primary.length, 0);
    closeSync(fd);
    const back = readGpt(file);
    assert.ok('value' in back, 'error' in back ? back.error : '');
    assert.deepEqual(back.value.partitions.map((p) => p.name), ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL']);
    truncateSync(file, 0);
    truncateSync(file, 1 << 20);
    assert.ok('error' in readGpt(file));
    assert.ok('error' in readGpt(join(dir, 'missing')));
  });
});

test('formatXfs: a 100 MiB STATE-sized volume is made XFS despite xfsprogs\' 300 MB floor; hasXfs sees it', { skip: !existsSync(mkfs) && 'mkfs.xfs not installed (xfsprogs)' }, () => {
  withDir((dir) => {
    const file = join(dir, 'state');
    closeSync(openSync(file, 'w'));
    truncateSync(file, 100 * 1024 * 1024);
    assert.equal(hasXfs(file), false);
    formatXfs(file, { label: 'STATE', mkfs });
    assert.equal(hasXfs(file), true);
    assert.throws(() => formatXfs(join(dir, 'nope', 'x'), { label: 'STATE', mkfs }), /mkfs\.xfs .*nope/);
  });
});
