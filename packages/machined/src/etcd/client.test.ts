import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixEnd } from './client.ts';

test('etcd prefixEnd: the range end covers exactly the keys starting with the prefix', () => {
  const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');
  assert.equal(text(prefixEnd(Buffer.from('talos:v1:vip:election:10.5.0.50/'))), 'talos:v1:vip:election:10.5.0.500');
  // Trailing 0xff bytes cannot be incremented: the byte before them is, and they are dropped.
  assert.deepEqual([...prefixEnd(Uint8Array.from([0x61, 0xff, 0xff]))], [0x62]);
  // All 0xff: every key from the prefix on (etcd's "\0" end).
  assert.deepEqual([...prefixEnd(Uint8Array.from([0xff]))], [0]);
});
