import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prettyBytes } from './volume-status.ts';

test('prettyBytes: SI units, one decimal below 10, as upstream prints volume sizes', () => {
  assert.equal(prettyBytes(0), '0 B');
  assert.equal(prettyBytes(512), '512 B');
  assert.equal(prettyBytes(1024 * 1024), '1.0 MB');
  assert.equal(prettyBytes(100 * 1024 * 1024), '105 MB');
  assert.equal(prettyBytes(2 * 1024 ** 3), '2.1 GB');
});
