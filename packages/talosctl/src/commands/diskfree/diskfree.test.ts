import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compactIBytes, percentUp } from './diskfree.ts';

test('df: sizes print as go-humanize IBytes without the space (one decimal below 10)', () => {
  assert.equal(compactIBytes(0n), '0B');
  assert.equal(compactIBytes(9n), '9B');
  assert.equal(compactIBytes(1023n), '1023B');
  assert.equal(compactIBytes(1536n), '1.5KiB');
  assert.equal(compactIBytes(960n * 1024n * 1024n), '960MiB');
  assert.equal(compactIBytes(20n * 1024n ** 3n), '20GiB');
});

test('df: usage percentage rounds up and is "-" for an empty filesystem', () => {
  assert.equal(percentUp(0n, 0n), '-');
  assert.equal(percentUp(1n, 3n), '34%');
  assert.equal(percentUp(50n, 100n), '50%');
});
