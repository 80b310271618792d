import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HealthTracker, probeOnce, runHealthChecks } from './health.ts';

test('probeOnce: a check that never settles and ignores its signal fails at the timeout', async () => {
  const failure = await probeOnce({ check: () => new Promise<void>(() => {}), timeoutMs: 30 }, new AbortController().signal);
  assert.equal(failure, 'health check timed out after 30ms');
});

test('probeOnce: the check signal aborts at the timeout; a rejection carries its message', async () => {
  let sawAbort = false;
  const check = (signal: AbortSignal): Promise<void> =>
    new Promise((_, reject) => signal.addEventListener('abort', () => ((sawAbort = true), reject(new Error('aborted')))));
  assert.match((await probeOnce({ check, timeoutMs: 20 }, new AbortController().signal)) ?? '', /timed out/);
  assert.ok(sawAbort);
  assert.equal(await probeOnce({ check: async () => Promise.reject(new Error('port closed')) }, new AbortController().signal), 'port closed');
  assert.equal(await probeOnce({ check: async () => {} }, new AbortController().signal), undefined);
});

test('HealthTracker: only flips notify; repeated verdicts refresh the message only', () => {
  let t = 1000;
  const tracker = new HealthTracker(() => t);
  const changes: string[] = [];
  tracker.subscribe((c) => changes.push(`${c.old.unknown ? '?' : c.old.healthy}->${c.new.healthy}`));
  assert.equal(tracker.status.unknown, true);
  t = 2000;
  tracker.update(true, '');
  t = 3000;
  tracker.update(true, 'still fine');
  assert.equal(tracker.status.lastChange, 2000);
  assert.equal(tracker.status.lastMessage, 'still fine');
  tracker.update(false, 'down');
  assert.deepEqual(changes, ['?->true', 'true->false']);
  assert.equal(tracker.status.lastChange, 3000);
});

test('runHealthChecks: waits the initial delay, then probes every period until aborted', async () => {
  const calls: number[] = [];
  const start = Date.now();
  const tracker = new HealthTracker();
  const ac = new AbortController();
  const loop = runHealthChecks(
    {
      initialDelayMs: 80,
      periodMs: 20,
      check: async () => {
        calls.push(Date.now() - start);
        if (calls.length === 4) ac.abort();
      },
    },
    tracker,
    ac.signal,
  );
  await loop;
  assert.equal(calls.length, 4);
  assert.ok((calls[0] ?? 0) >= 75, `first probe after ${calls[0]}ms`);
  for (let i = 1; i < calls.length; i++) assert.ok((calls[i] ?? 0) > (calls[i - 1] ?? 0));
  assert.equal(tracker.status.healthy, true);
});
