import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, writeSync, readSync, rmSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32 } from './crc32.ts';
import { decodeGpt, encodeGpt, GPT_PRIMARY_SECTORS, guidFromBytes, guidToBytes, SECTOR_BYTES } from './gpt.ts';
import { isTalosLayout, MIN_DISK_BYTES, PartitionType, talosLayout } from './talos-layout.ts';

const GiB = 1024 ** 3;
const hasTool = (t: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};

function counterGuids(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}`.toUpperCase();
}

/** Writes a layout onto a sparse file of its size; returns the file path (caller removes the dir). */
function writeDisk(dir: string, sizeBytes: number): string {
  const r = talosLayout({ diskSizeBytes: sizeBytes, newGuid: counterGuids() });
  assert.ok('value' in r, 'error' in r ? r.error : '');
  const enc = encodeGpt(r.value);
  const file = join(dir, 'disk.raw');
  const fd = openSync(file, 'w+');
  try {
    ftruncateSync(fd, sizeBytes);
    writeSync(fd, enc.primary, 0, enc.primary.length, 0);
    writeSync(fd, enc.backup, 0, enc.backup.length, enc.backupOffsetBytes);
  } finally {
    closeSync(fd);
  }
  return file;
}

test('crc32: matches the IEEE check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

test('gpt: GUIDs are stored mixed-endian and read back unchanged', () => {
  const g = PartitionType.EFISystem;
  assert.deepEqual([...guidToBytes(g).subarray(0, 4)], [0x28, 0x73, 0x2a, 0xc1]);
  assert.equal(guidFromBytes(guidToBytes(g)), g);
  assert.throws(() => guidToBytes('not-a-guid'), RangeError);
});

test('talosLayout: upstream order, sizes and 1 MiB alignment, EPHEMERAL to the end', () => {
  const r = talosLayout({ diskSizeBytes: 6 * GiB, newGuid: counterGuids() });
  assert.ok('value' in r);
  const p = r.value.partitions;
  assert.deepEqual(p.map((x) => x.name), ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL']);
  const mib = (x: (typeof p)[number]): number => ((x.lastLba - x.firstLba + 1) * SECTOR_BYTES) / 2 ** 20;
  assert.deepEqual(p.slice(0, 5).map(mib), [100, 1, 2000, 1, 100]);
  for (const x of p) assert.equal(x.firstLba % 2048, 0, `${x.name} starts at ${x.firstLba}`);
  assert.equal(p[0]?.firstLba, 2048);
  assert.equal(p[5]?.lastLba, r.value.totalSectors - 34);
  assert.equal(p[1]?.typeGuid, PartitionType.BIOSBoot);
  assert.equal(p[1]?.attributes, 4n);
  assert.ok(isTalosLayout(r.value));
});

test('talosLayout: a disk below the minimum is refused with its size in the message', () => {
  const r = talosLayout({ diskSizeBytes: MIN_DISK_BYTES - 2 ** 20 });
  assert.ok('error' in r);
  assert.match(r.error, /too small: \d+ MiB, Talos needs at least \d+ MiB/);
  assert.ok('value' in talosLayout({ diskSizeBytes: MIN_DISK_BYTES }));
});

test('gpt: encode then decode gives the same table; a flipped byte fails the CRC', () => {
  const r = talosLayout({ diskSizeBytes: 8 * GiB, newGuid: counterGuids() });
  assert.ok('value' in r);
  const enc = encodeGpt(r.value);
  const back = decodeGpt(enc.primary);
  assert.ok('value' in back, 'error' in back ? back.error : '');
  assert.deepEqual(back.value, r.value);
  const bad = Buffer.from(enc.primary);
  bad.writeUInt8(bad.readUInt8(2 * SECTOR_BYTES + 60) ^ 1, 2 * SECTOR_BYTES + 60);
  const d = decodeGpt(bad);
  assert.ok('error' in d);
  assert.match(d.error, /entries CRC/);
  assert.ok('error' in decodeGpt(Buffer.alloc(GPT_PRIMARY_SECTORS * SECTOR_BYTES)));
});

test('encodeGpt: overlapping partitions are refused', () => {
  const r = talosLayout({ diskSizeBytes: 6 * GiB, newGuid: counterGuids() });
  assert.ok('value' in r);
  const parts = [...r.value.partitions];
  parts[1] = { ...parts[1]!, firstLba: parts[0]!.lastLba };
  assert.throws(() => encodeGpt({ ...r.value, partitions: parts }), /overlaps/);
});

test('gpt: sfdisk reads back names, types, bounds and the disk GUID we wrote', { skip: !hasTool('sfdisk') && 'sfdisk not installed (fdisk)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpt-'));
  try {
    const file = writeDisk(dir, 6 * GiB);
    const out = JSON.parse(execFileSync('sfdisk', ['--json', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })) as {
      partitiontable: { label: string; id: string; firstlba: number; lastlba: number; partitions: Array<{ start: number; size: number; type: string; name: string; attrs?: string }> };
    };
    const t = out.partitiontable;
    assert.equal(t.label, 'gpt');
    assert.equal(t.id, '00000000-0000-4000-8000-000000000001');
    assert.equal(t.firstlba, 34);
    assert.equal(t.lastlba, (6 * GiB) / 512 - 34);
    assert.deepEqual(t.partitions.map((p) => p.name), ['EFI', 'BIOS', 'BOOT', 'META', 'STATE', 'EPHEMERAL']);
    assert.equal(t.partitions[0]?.type, PartitionType.EFISystem);
    assert.equal(t.partitions[1]?.type, PartitionType.BIOSBoot);
    assert.equal(t.partitions[1]?.attrs, 'LegacyBIOSBootable');
    assert.deepEqual(t.partitions.map((p) => p.start), [2048, 206848, 208896, 4304896, 4306944, 4511744]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('gpt: sgdisk finds no problems in what we wrote, and flags a corrupted primary header', { skip: !hasTool('sgdisk') && 'sgdisk not installed (gdisk)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gpt-'));
  try {
    const file = writeDisk(dir, 6 * GiB);
    const v = execFileSync('sgdisk', ['-v', file], { encoding: 'utf8' });
    assert.match(v, /No problems found/);
    // Corrupt the primary header: sgdisk must notice, and our decoder must refuse it.
    const fd = openSync(file, 'r+');
    const sector = Buffer.alloc(SECTOR_BYTES);
    readSync(fd, sector, 0, SECTOR_BYTES, SECTOR_BYTES);
    sector.writeUInt8(sector.readUInt8(40) ^ 0xff, 40);
    writeSync(fd, sector, 0, SECTOR_BYTES, SECTOR_BYTES);
    const primary = Buffer.alloc(GPT_PRIMARY_SECTORS * SECTOR_BYTES);
    readSync(fd, primary, 0, primary.length, 0);
    closeSync(fd);
    const d = decodeGpt(primary);
    assert.ok('error' in d && /header CRC/.test(d.error));
    const v2 = execFileSync('sgdisk', ['-v', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(v2, /corrupt GPT/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
