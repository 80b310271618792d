import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '@talos-ts/testkit';
import { FailedTokenLimiter, limiterSource } from './limiter.ts';

test('FailedTokenLimiter: a source is refused after its burst of failures and earns one attempt back per second', async () => {
  const clock = new FakeClock();
  const l = new FailedTokenLimiter({ burst: 3, refillPerSecond: 1, now: () => clock.now() });
  for (let i = 0; i < 3; i++) {
    assert.ok(l.allows('10.0.0.1'), `attempt ${i}`);
    l.wrongToken('10.0.0.1');
  }
  assert.equal(l.allows('10.0.0.1'), false);
  assert.ok(l.allows('10.0.0.2'), 'other sources are not affected');
  // Refusals while over the limit do not dig the hole deeper.
  for (let i = 0; i < 100; i++) l.rateLimited('10.0.0.1');
  await clock.advance(999);
  assert.equal(l.allows('10.0.0.1'), false);
  await clock.advance(1);
  assert.ok(l.allows('10.0.0.1'));
  l.wrongToken('10.0.0.1');
  assert.equal(l.allows('10.0.0.1'), false);
});

test('FailedTokenLimiter: a flood from ever new addresses keeps the map at its bound', () => {
  const l = new FailedTokenLimiter({ maxSources: 100 });
  for (let i = 0; i < 10_000; i++) l.wrongToken(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
  assert.equal(l.trackedSources, 100);
});

test('FailedTokenLimiter: refusals from one source give one log line per interval, carrying the counts', async () => {
  const clock = new FakeClock();
  const l = new FailedTokenLimiter({ burst: 2, logIntervalMs: 60_000, now: () => clock.now() });
  const lines = [];
  for (let i = 0; i < 500; i++) {
    const r = l.allows('192.0.2.7') ? l.wrongToken('192.0.2.7') : l.rateLimited('192.0.2.7');
    if (r) lines.push(r);
  }
  assert.deepEqual(lines, [{ source: '192.0.2.7', wrongToken: 1, rateLimited: 0, unloggedElsewhere: 0 }]);
  await clock.advance(60_000);
  const next = l.allows('192.0.2.7') ? l.wrongToken('192.0.2.7') : l.rateLimited('192.0.2.7');
  // 1 wrong token left of the burst, then refusals; the burst refilled meanwhile.
  assert.deepEqual(next, { source: '192.0.2.7', wrongToken: 2, rateLimited: 498, unloggedElsewhere: 0 });
});

test('FailedTokenLimiter: log lines across many sources stay within the global budget', async () => {
  const clock = new FakeClock();
  const l = new FailedTokenLimiter({ logBurst: 5, maxSources: 50, now: () => clock.now() });
  let lines = 0;
  let counted = 0;
  for (let i = 0; i < 1000; i++) {
    const r = l.wrongToken(`198.51.${i >> 8}.${i & 255}`);
    if (r) {
      lines++;
      counted += r.wrongToken + r.unloggedElsewhere;
    }
  }
  assert.equal(lines, 5);
  await clock.advance(1000);
  const r = l.wrongToken('203.0.113.1');
  assert.ok(r, 'a token of the global budget came back after a second');
  // What was neither logged nor still held by a tracked source is reported as unlogged elsewhere.
  assert.equal(counted + r.wrongToken + r.unloggedElsewhere + 49, 1001);
});

test('limiterSource: IPv4 by address, IPv6 by its /64, mapped IPv4 as IPv4', () => {
  assert.equal(limiterSource('10.1.2.3:5123'), '10.1.2.3');
  assert.equal(limiterSource('[::ffff:10.1.2.3]:5123'), '10.1.2.3');
  assert.equal(limiterSource('[2001:db8:1:2:aaaa::1]:443'), '2001:db8:1:2::/64');
  assert.equal(limiterSource('[2001:db8:1:2:bbbb:cccc:dddd:eeee]:1'), '2001:db8:1:2::/64');
  assert.equal(limiterSource('[fe80::1%eth0]:1'), 'fe80:0:0:0::/64');
  assert.equal(limiterSource('unix'), 'unix');
});
