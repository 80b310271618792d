// waitFor's bounds: a check that never answers cannot hold the wait past its deadline, and a
// per-check bound lets polling go on after one hung check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { waitFor } from './nodes.ts';

test('waitFor: a check that never settles fails the wait a few seconds past its deadline, naming the hang, and its signal is aborted', async () => {
  let aborted = false;
  const started = performance.now();
  await assert.rejects(
    waitFor(
      'a hung call',
      (signal) =>
        new Promise<boolean>(() => {
          signal.addEventListener('abort', () => (aborted = true));
        }),
      100,
    ),
    /timed out after 100 ms waiting for a hung call \(a check did not answer within \d+ ms\)/,
  );
  const took = performance.now() - started;
  assert.ok(took < 8000, `took ${Math.round(took)} ms`);
  assert.equal(aborted, true);
});

test('waitFor: with checkTimeoutMs a hung check counts as false and the next check can succeed', async () => {
  let calls = 0;
  const started = performance.now();
  await waitFor(
    'the second check',
    () => {
      calls++;
      return calls === 1 ? new Promise<boolean>(() => undefined) : true;
    },
    10_000,
    { checkTimeoutMs: 150 },
  );
  assert.equal(calls, 2);
  assert.ok(performance.now() - started < 2000);
});

test('waitFor: a plain check still polls until true and a slow true just past the deadline still counts', async () => {
  let n = 0;
  await waitFor('three polls', () => ++n >= 3, 5000);
  assert.equal(n, 3);
  await waitFor('a slow answer', () => new Promise<boolean>((r) => setTimeout(() => r(true), 300)), 50);
});
