import { test } from 'node:test';
import assert from 'node:assert/strict';
import { humanBytes, memberId, parseMemberId } from './etcd.ts';

test('etcd helpers: member ids print as 16 hex digits and parse back, bad ids are rejected', () => {
  const id = 0x4f3fb4c33808229an;
  assert.equal(memberId(id), '4f3fb4c33808229a');
  assert.equal(memberId(0xabn), '00000000000000ab');
  assert.equal(parseMemberId('4f3fb4c33808229a'), id);
  assert.equal(parseMemberId('0xab'), 0xabn);
  assert.throws(() => parseMemberId('node-1'), /failed to parse member ID/);
  assert.throws(() => parseMemberId('1234567890abcdef0'), /failed to parse member ID/);
});

test('etcd helpers: sizes print as go-humanize SI bytes', () => {
  assert.equal(humanBytes(0), '0 B');
  assert.equal(humanBytes(9), '9 B');
  assert.equal(humanBytes(999), '999 B');
  assert.equal(humanBytes(1500), '1.5 kB');
  assert.equal(humanBytes(20480), '20 kB');
  assert.equal(humanBytes(10_485_760), '10 MB');
  assert.equal(humanBytes(4_200_000), '4.2 MB');
});
