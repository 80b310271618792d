import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sleepUnlessAborted, systemClock } from './clock.ts';

test('sleepUnlessAborted: resolves true once the time has passed', async () => {
  const t0 = Date.now();
  assert.equal(await sleepUnlessAborted(20, new AbortController().signal), true);
  assert.ok(Date.now() - t0 >= 15);
});

test('sleepUnlessAborted: resolves false at once when the signal aborts, leaving no timer behind', async () => {
  const ac = new AbortController();
  const pending = sleepUnlessAborted(60_000, ac.signal);
  ac.abort();
  assert.equal(await pending, false);
  assert.equal(await sleepUnlessAborted(60_000, ac.signal), false);
});

test('systemClock.sleep: rejects with Canceled when aborted', async () => {
  const ac = new AbortController();
  const pending = systemClock.sleep(60_000, ac.signal);
  ac.abort();
  await assert.rejects(pending, (e: unknown) => (e as { code?: number }).code === 1);
});
