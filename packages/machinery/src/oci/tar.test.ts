import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { parseTarHeader, TAR_BLOCK, TAR_END, tarHeader, tarPadding } from './tar.ts';

test('an archive of our headers is read by GNU tar with names, sizes and contents intact', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oci-tar-'));
  try {
    const long = `${'d'.repeat(60)}/${'e'.repeat(60)}/file.bin`;
    const data = Buffer.from('hello layer\n');
    const parts = [tarHeader({ name: 'usr', type: 'dir' }), tarHeader({ name: 'usr/a.txt', type: 'file', size: data.length }), data, tarPadding(data.length), tarHeader({ name: long, type: 'file', size: 3 }), Buffer.from('xyz'), tarPadding(3), TAR_END];
    writeFileSync(join(dir, 'l.tar'), Buffer.concat(parts));
    const listing = execFileSync('tar', ['-tvf', join(dir, 'l.tar')], { encoding: 'utf8' });
    assert.match(listing, /usr\/a\.txt/);
    assert.ok(listing.includes(long), listing);
    execFileSync('tar', ['-xf', join(dir, 'l.tar'), '-C', dir]);
    assert.equal(readFileSync(join(dir, 'usr/a.txt'), 'utf8'), 'hello layer\n');
    assert.equal(readFileSync(join(dir, long), 'utf8'), 'xyz');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('headers GNU tar writes are parsed back to name, type and size', () => {
  const dir = mkdtempSync(join(tmpdir(), 'oci-tar-'));
  try {
    writeFileSync(join(dir, 'f'), Buffer.alloc(1000, 7));
    execFileSync('tar', ['--format=ustar', '-cf', join(dir, 'g.tar'), '-C', dir, 'f']);
    const bytes = readFileSync(join(dir, 'g.tar'));
    assert.deepEqual({ ...parseTarHeader(bytes.subarray(0, TAR_BLOCK)), mode: 0 }, { name: 'f', type: 'file', size: 1000, mode: 0 });
    const end = 512 + 1024;
    assert.equal(parseTarHeader(bytes.subarray(end, end + TAR_BLOCK)), undefined);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a header whose checksum does not match is DataLoss', () => {
  const h = tarHeader({ name: 'a', type: 'file', size: 1 });
  h[0] = 'b'.charCodeAt(0);
  assert.throws(() => parseTarHeader(h), (e: unknown) => e instanceof TalosError && e.code === Code.DataLoss);
});

test('padding fills to a whole block and is empty for a whole block', () => {
  assert.equal(tarPadding(1).length, 511);
  assert.equal(tarPadding(512).length, 0);
  assert.equal(tarPadding(0).length, 0);
});
