import test from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { hasChronyd, startChrony } from '@talos-ts/testkit';
import { ntpExchange } from '../linux/ntp-exchange.ts';
import { TimeSync, type AdjustableClock, type TimeSyncStatus } from './sync.ts';

// Real chronyd serving its (the host's) clock on loopback addresses of this suite's range; it runs
// with -x so it never touches the host clock, and so do we: the clock timed corrects is a test
// clock that is the host's plus an offset.
const CHRONY = '127.0.24.1';
const SILENT = '127.0.24.2';
const PORT = 12324;
const canRun = hasChronyd();

/** A clock `offsetMs` away from the host's, corrected only by what timed tells it. */
class OffsetClock implements AdjustableClock {
  steps: number[] = [];
  slews: number[] = [];
  constructor(public offsetMs: number) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
  step(offsetMs: number): void {
    this.steps.push(offsetMs);
    this.offsetMs += offsetMs;
  }
  slew(offsetMs: number): void {
    this.slews.push(offsetMs);
    this.offsetMs += offsetMs;
  }
}

/** A UDP socket that takes queries and never answers. */
function silentServer(): Promise<Socket> {
  const s = createSocket('udp4');
  return new Promise((resolve) => s.bind(PORT, SILENT, () => resolve(s)));
}

test('timed against chronyd', { skip: !canRun && 'needs chronyd', timeout: 60_000 }, async (t) => {
  const chrony = await startChrony({ address: CHRONY, port: PORT });
  const silent = await silentServer();
  t.after(async () => {
    await chrony.stop();
    silent.close();
  });

  await t.test('timed: a clock five minutes slow is stepped to chrony time on the first sync', async () => {
    const clock = new OffsetClock(-5 * 60_000);
    const statuses: TimeSyncStatus[] = [];
    const sync = new TimeSync({ servers: [`${CHRONY}:${PORT}`], exchange: ntpExchange, adjuster: clock, onStatus: (s) => statuses.push(s) });
    try {
      const started = Date.now();
      sync.start();
      await sync.synced;
      t.diagnostic(`first sync in ${Date.now() - started} ms; step ${clock.steps[0]?.toFixed(3)} ms; left ${clock.offsetMs.toFixed(3)} ms`);
      assert.equal(clock.steps.length, 1);
      assert.ok(Math.abs(clock.steps[0]! - 5 * 60_000) < 50, String(clock.steps[0]));
      assert.ok(Math.abs(clock.offsetMs) < 50, `still off by ${clock.offsetMs} ms`);
      assert.deepEqual(
        statuses.map((s) => [s.synced, s.epoch, s.syncDisabled]),
        [
          [false, 0, false],
          [true, 0, false],
        ],
      );
      assert.equal(sync.status.lastServer, `${CHRONY}:${PORT}`);
    } finally {
      await sync.stop();
    }
  });

  await t.test('timed: a jump of more than 15 minutes starts a new epoch; a small offset is slewed', async () => {
    const clock = new OffsetClock(20 * 60_000);
    const sync = new TimeSync({ servers: [`${CHRONY}:${PORT}`], exchange: ntpExchange, adjuster: clock });
    try {
      sync.start();
      await sync.synced;
      assert.equal(sync.status.epoch, 1);
      const sample = await sync.query(`${CHRONY}:${PORT}`);
      assert.ok(Math.abs(sample.offsetMs) < 50, String(sample.offsetMs));
      assert.equal(sample.stratum, 3);
      assert.ok(sample.delayMs >= 0 && sample.delayMs < 50, String(sample.delayMs));
    } finally {
      await sync.stop();
    }
    const small = new OffsetClock(150);
    const again = new TimeSync({ servers: [`${CHRONY}:${PORT}`], exchange: ntpExchange, adjuster: small });
    try {
      again.start();
      await again.synced;
      assert.deepEqual(small.steps, []);
      assert.equal(small.slews.length, 1);
      assert.ok(Math.abs(small.slews[0]! + 150) < 50, String(small.slews[0]));
    } finally {
      await again.stop();
    }
  });

  await t.test('timed: a server that does not answer blocks nothing and the next server is used', async () => {
    const clock = new OffsetClock(-3 * 60_000);
    const sync = new TimeSync({
      servers: [`${SILENT}:${PORT}`, `${CHRONY}:${PORT}`],
      exchange: ntpExchange,
      adjuster: clock,
      queryTimeoutMs: 500,
    });
    try {
      const started = Date.now();
      sync.start();
      // start() returns at once: boot goes on while the first server times out.
      assert.ok(Date.now() - started < 50);
      assert.equal(sync.status.synced, false);
      await sync.synced;
      const took = Date.now() - started;
      t.diagnostic(`synced through the second server after ${took} ms`);
      assert.ok(took >= 450 && took < 3000, String(took));
      assert.equal(sync.status.lastServer, `${CHRONY}:${PORT}`);
      assert.ok(Math.abs(clock.offsetMs) < 50);
    } finally {
      await sync.stop();
    }
  });

  await t.test('timed: in container mode the clock is left alone and the status says sync is disabled', async () => {
    const clock = new OffsetClock(-60_000);
    const statuses: TimeSyncStatus[] = [];
    const sync = new TimeSync({ servers: [`${CHRONY}:${PORT}`], exchange: ntpExchange, adjuster: clock, disabled: true, onStatus: (s) => statuses.push(s) });
    sync.start();
    await new Promise((r) => setTimeout(r, 300));
    await sync.stop();
    assert.deepEqual(clock.steps, []);
    assert.deepEqual(clock.slews, []);
    assert.equal(statuses.at(-1)?.syncDisabled, true);
  });
});
