import test from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '@talos-ts/testkit';
import { decodeReply, encodeRequest, isProblem, readTimestamp, writeTimestamp } from './packet.ts';
import { TimeSync, type AdjustableClock, type NtpExchange } from './sync.ts';

const T1 = 1_800_000_000_000;

/** A server reply to `request` with receive/transmit times t2/t3 (Unix ms). */
function reply(request: Buffer, t2: number, t3: number, patch: (b: Buffer) => void = () => {}): Buffer {
  const b = Buffer.alloc(48);
  b[0] = (0 << 6) | (4 << 3) | 4;
  b[1] = 2;
  b.writeUInt16BE(0, 4);
  b.writeUInt16BE(0x0100, 10); // root dispersion ~3.9 ms
  Buffer.from([10, 0, 0, 1]).copy(b, 12);
  request.copy(b, 24, 40, 48);
  writeTimestamp(b, 32, t2);
  writeTimestamp(b, 40, t3);
  patch(b);
  return b;
}

test('ntp packet: a client request is 48 bytes, version 4, mode 3, with t1 as transmit timestamp', () => {
  const r = encodeRequest(T1);
  assert.equal(r.length, 48);
  assert.equal(r[0], 0x23);
  assert.ok(Math.abs(readTimestamp(r, 40) - T1) < 0.001);
});

test('ntp packet: offset and delay follow RFC 5905 from the four timestamps', () => {
  const req = encodeRequest(T1);
  // Server 1000 ms ahead, 10 ms each way, 2 ms processing.
  const s = decodeReply(reply(req, T1 + 1010, T1 + 1012), req, T1 + 22);
  assert.ok(!isProblem(s));
  assert.ok(Math.abs(s.offsetMs - 1000) < 0.01, String(s.offsetMs));
  assert.ok(Math.abs(s.delayMs - 20) < 0.01, String(s.delayMs));
  assert.equal(s.refId, '10.0.0.1');
});

test("ntp packet: kiss-o'-death, unsynchronised stratum, leap alarm, wrong origin and wrong mode are refused", () => {
  const req = encodeRequest(T1);
  const kod = decodeReply(
    reply(req, T1, T1, (b) => {
      b[1] = 0;
      b.write('RATE', 12, 'latin1');
    }),
    req,
    T1,
  );
  assert.deepEqual(kod, { error: "kiss-o'-death RATE", kissOfDeath: 'RATE' });
  assert.match((decodeReply(reply(req, T1, T1, (b) => (b[1] = 16)), req, T1) as { error: string }).error, /stratum 16/);
  assert.match((decodeReply(reply(req, T1, T1, (b) => (b[0] = 0xe4)), req, T1) as { error: string }).error, /leap alarm/);
  assert.match((decodeReply(reply(req, T1, T1, (b) => (b[31] = b[31]! ^ 1)), req, T1) as { error: string }).error, /origin/);
  assert.match((decodeReply(reply(req, T1, T1, (b) => (b[0] = 0x23)), req, T1) as { error: string }).error, /mode 3/);
  assert.match((decodeReply(reply(req, T1, T1, (b) => b.writeUInt16BE(2, 8)), req, T1) as { error: string }).error, /root distance/);
  assert.match((decodeReply(Buffer.alloc(20), req, T1) as { error: string }).error, /too short/);
});

test("timed: a kiss-o'-death backs the poll off to the minimum poll and doubles it, other failures retry after a second", async () => {
  const sleeper = new FakeClock(0);
  const clock: AdjustableClock = { now: () => T1, step: () => {}, slew: () => {} };
  let kod = true;
  let calls = 0;
  const exchange: NtpExchange = (_server, packet) => {
    calls++;
    return Promise.resolve(
      reply(packet, T1, T1, (b) => {
        if (kod) {
          b[1] = 0;
          b.write('RATE', 12, 'latin1');
        } else b[1] = 20;
      }),
    );
  };
  const sync = new TimeSync({ servers: ['a', 'b'], exchange, adjuster: clock, sleeper });
  sync.start();
  await sleeper.untilSleeping();
  assert.equal(calls, 2, 'both servers asked');
  await sleeper.advance(31_999);
  assert.equal(calls, 2, 'first KoD waits the minimum poll of 32 s');
  await sleeper.advance(1);
  await sleeper.untilSleeping();
  assert.equal(calls, 4);
  await sleeper.advance(63_999);
  assert.equal(calls, 4, 'second KoD doubles it');
  kod = false;
  await sleeper.advance(1);
  await sleeper.untilSleeping();
  assert.equal(calls, 6);
  await sleeper.advance(999);
  assert.equal(calls, 6);
  await sleeper.advance(1);
  await sleeper.untilSleeping();
  assert.equal(calls, 8, 'an unsynchronised server is retried after a second');
  assert.equal(sync.status.synced, false);
  await sync.stop();
});
