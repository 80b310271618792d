import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, rmSync, truncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeGpt, talosLayout } from '@talos-ts/machinery';
import { diskBootable, launchArgs, type VmLaunchConfig } from './vm-launcher.ts';

const config = (dir: string): VmLaunchConfig => ({
  imageDir: '/img',
  tap: 'tap0',
  mac: '52:54:00:7a:00:00',
  diskFile: join(dir, 'disk.raw'),
  kernelArgs: ['console=ttyS0', 'ip=10.0.0.2::10.0.0.1:255.255.255.0:n:eth0:off'],
  memoryMiB: 1024,
  cpus: 2,
  qmpSocket: join(dir, 'qmp.sock'),
});

test('diskBootable: a blank sparse disk is not bootable; once a Talos GPT is written it is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prov-launch-'));
  try {
    const disk = join(dir, 'disk.raw');
    closeSync(openSync(disk, 'w'));
    truncateSync(disk, 6 * 1024 ** 3);
    assert.equal(diskBootable(disk), false);
    assert.equal(diskBootable(join(dir, 'missing.raw')), false);
    const layout = talosLayout({ diskSizeBytes: 6 * 1024 ** 3 });
    assert.ok('value' in layout, 'error' in layout ? layout.error : '');
    const fd = openSync(disk, 'r+');
    writeSync(fd, encodeGpt(layout.value).primary, 0, undefined, 0);
    closeSync(fd);
    assert.equal(diskBootable(disk), true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('launchArgs: a live start boots -kernel with the root as vdb; a disk start has no kernel, only the install disk as vda', () => {
  const dir = mkdtempSync(join(tmpdir(), 'prov-launch-'));
  try {
    const c = config(dir);
    const live = launchArgs(c, false);
    assert.ok(live.includes('-no-reboot'), 'a reset ends QEMU so the launcher can choose the next boot');
    assert.ok(live.includes('-kernel'));
    const drives = live.flatMap((a, i) => (live[i - 1] === '-drive' ? [a] : []));
    assert.deepEqual(drives, [`file=${c.diskFile},if=virtio,format=raw`, 'file=/img/rootfs.sqsh,if=virtio,format=raw,readonly=on']);
    assert.match(live[live.indexOf('-append') + 1] ?? '', /ip=10\.0\.0\.2.* talos\.root=\/dev\/vdb$/);
    const disk = launchArgs(c, true);
    assert.equal(disk.includes('-kernel'), false);
    assert.equal(disk.includes('-append'), false);
    assert.deepEqual(disk.flatMap((a, i) => (disk[i - 1] === '-drive' ? [a] : [])), [`file=${c.diskFile},if=virtio,format=raw`]);
    assert.ok(disk.includes(`unix:${c.qmpSocket},server=on,wait=off`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
