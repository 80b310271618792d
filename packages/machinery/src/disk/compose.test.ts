import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootloaderWrites, xfsProto } from './compose.ts';
import { talosLayout } from './talos-layout.ts';

test('xfsProto: nested directories, files with their host paths, every directory closed', () => {
  assert.equal(
    xfsProto([['/A/vmlinuz', '/h/k'], ['/grub/grub.cfg', '/h/c'], ['/A/initramfs.img', '/h/i'], ['/top', '/h/t', 0o600]]),
    '/dev/null\n0 0\nd--755 0 0\ntop ---600 0 0 /h/t\nA d--755 0 0\nvmlinuz ---644 0 0 /h/k\ninitramfs.img ---644 0 0 /h/i\n$\ngrub d--755 0 0\ngrub.cfg ---644 0 0 /h/c\n$\n$\n',
  );
  assert.throws(() => xfsProto([['/a b', '/x']]), RangeError);
});

test('xfsProto: mkfs.xfs builds the tree it describes (read back with xfs_db)', { skip: !existsSync('/usr/sbin/mkfs.xfs') && 'xfsprogs not installed' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'proto-'));
  try {
    writeFileSync(join(dir, 'cfg'), 'version: v1alpha1\n');
    writeFileSync(join(dir, 'proto'), xfsProto([['/config.yaml', join(dir, 'cfg')], ['/sub/x', join(dir, 'cfg')]]));
    const fd = openSync(join(dir, 'fs'), 'w');
    ftruncateSync(fd, 100 * 1024 * 1024);
    closeSync(fd);
    execFileSync('mkfs.xfs', ['-q', '-f', '-L', 'STATE', '-p', join(dir, 'proto'), join(dir, 'fs')], { env: { ...process.env, TEST_DIR: '1', TEST_DEV: '1', QA_CHECK_FS: '1' } });
    const ls = execFileSync('xfs_db', ['-r', '-c', 'ls /', '-c', 'ls /sub', join(dir, 'fs')], { encoding: 'utf8' });
    assert.match(ls, /regular .* config\.yaml \(good\)/);
    assert.match(ls, /regular .* x \(good\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bootloaderWrites: GPT first, then GRUB\'s sector 0 over it, the backup at the end, core.img in the BIOS partition', () => {
  const r = talosLayout({ diskSizeBytes: 6 * 1024 ** 3 });
  assert.ok('value' in r);
  const bootImg = Buffer.alloc(512, 0xfa);
  const coreImg = Buffer.alloc(4 * 512);
  coreImg.writeUInt16LE(0x820, 510);
  const w = bootloaderWrites({ layout: r.value, bootImg, coreImg });
  assert.deepEqual(w.map((x) => [x.offsetBytes, x.bytes.length]), [[0, 34 * 512], [0, 512], [6 * 1024 ** 3 - 33 * 512, 33 * 512], [206848 * 512, 4 * 512]]);
  const mbr = Buffer.from(w[1]!.bytes);
  assert.equal(mbr[0x1c2], 0xee);
  assert.equal(mbr.readBigUInt64LE(0x5c), 206848n);
  assert.equal(Buffer.from(w[3]!.bytes).readBigUInt64LE(500), 206849n);
});
