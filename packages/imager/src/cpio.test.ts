import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeCpio } from './cpio.ts';

test('writeCpio: GNU cpio reads back names, types, modes, device numbers and contents', () => {
  const archive = writeCpio([
    { kind: 'dir', path: '/dev' },
    { kind: 'char', path: '/dev/console', major: 5, minor: 1 },
    { kind: 'file', path: '/init', data: Buffer.from('#!/usr/bin/node\nhello'), mode: 0o755 },
    { kind: 'symlink', path: '/lib64', target: 'lib' },
  ]);
  const listing = execFileSync('cpio', ['-itv', '--quiet'], { input: archive, encoding: 'utf8' });
  assert.match(listing, /^drwxr-xr-x .* dev$/m);
  assert.match(listing, /^crw------- .* 5,\s+1 .* dev\/console$/m);
  assert.match(listing, /^-rwxr-xr-x .* 21 .* init$/m);
  assert.match(listing, /^lrwxrwxrwx .* lib64 -> lib$/m);
  assert.equal(archive.length % 4, 0);
});
