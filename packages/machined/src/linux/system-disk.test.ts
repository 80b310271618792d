import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, existsSync, mkdtempSync, openSync, readSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '@talos-ts/cosi';
import { clearEphemeralWipe, ephemeralWipeRequested, prepareSystemVolume, requestEphemeralWipe } from './system-disk.ts';

const mkfs = '/usr/sbin/mkfs.xfs';

/** The XFS superblock's UUID (bytes 32..48): a new filesystem gets a new one. */
function xfsUuid(file: string): string {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(16);
    readSync(fd, b, 0, 16, 32);
    return b.toString('hex');
  } finally {
    closeSync(fd);
  }
}

test('EPHEMERAL: an existing filesystem is kept, until an upgrade without --preserve asks the next boot to make it afresh', { skip: !existsSync(mkfs) && 'mkfs.xfs not installed (xfsprogs)' }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'qr-sysdisk-'));
  try {
    const state = dir;
    const device = join(dir, 'ephemeral');
    closeSync(openSync(device, 'w'));
    truncateSync(device, 320 * 1024 * 1024);
    assert.equal(prepareSystemVolume(device, { label: 'EPHEMERAL', wipe: false, logger: nullLogger, mkfs }), true, 'blank: formatted');
    const first = xfsUuid(device);
    assert.equal(prepareSystemVolume(device, { label: 'EPHEMERAL', wipe: ephemeralWipeRequested(state), logger: nullLogger, mkfs }), false, 'kept across a plain reboot');
    assert.equal(xfsUuid(device), first);
    requestEphemeralWipe(state, 'upgrade without --preserve');
    assert.equal(ephemeralWipeRequested(state), true);
    assert.equal(prepareSystemVolume(device, { label: 'EPHEMERAL', wipe: ephemeralWipeRequested(state), logger: nullLogger, mkfs }), true, 'wiped when asked');
    assert.notEqual(xfsUuid(device), first, 'a new filesystem');
    clearEphemeralWipe(state);
    assert.equal(ephemeralWipeRequested(state), false, 'only once');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
