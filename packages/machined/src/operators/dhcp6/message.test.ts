import test from 'node:test';
import assert from 'node:assert/strict';
import { ip6Bytes } from './client.ts';
import { leaseFromReply } from './lease.ts';
import { Msg6, Opt6, decode6, duidLL, encode6, encodeOptions, ip6ToString, type Dhcp6Message } from './message.ts';

const IAID = 7;

function ia(t1: number, t2: number, inner: [number, Buffer][]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt32BE(IAID, 0);
  h.writeUInt32BE(t1, 4);
  h.writeUInt32BE(t2, 8);
  return Buffer.concat([h, encodeOptions(inner)]);
}

function iaaddr(addr: string, preferred: number, valid: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(preferred, 0);
  b.writeUInt32BE(valid, 4);
  return Buffer.concat([ip6Bytes(addr), b]);
}

function replyWith(options: [number, Buffer][]): Dhcp6Message {
  return { type: Msg6.Reply, xid: 0xabcdef, options: [[Opt6.ServerId, duidLL(Buffer.from('020000000002', 'hex'))], ...options] };
}

test('dhcp6 codec: messages round-trip; IPv6 text is compressed as RFC 5952 writes it', () => {
  const msg = replyWith([[Opt6.DnsServers, ip6Bytes('fd24::53')]]);
  const back = decode6(encode6(msg));
  assert.ok('value' in back);
  assert.equal(back.value.xid, 0xabcdef);
  assert.equal(ip6ToString(back.value.options[1]![1]), 'fd24::53');
  assert.equal(ip6ToString(ip6Bytes('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  assert.equal(ip6ToString(ip6Bytes('::')), '::');
  assert.equal(ip6ToString(ip6Bytes('fe80::1')), 'fe80::1');
});

test('dhcp6 codec: a truncated option is dropped with a warning, the options before it kept', () => {
  const wire = Buffer.concat([encode6(replyWith([])), Buffer.from([0, 23, 0, 32, 1, 2])]);
  const r = decode6(wire);
  assert.ok('value' in r);
  assert.equal(r.value.options.length, 1);
  assert.match(r.warnings.join(), /option 23 truncated/);
  assert.deepEqual(decode6(Buffer.from([7, 1])), { error: 'message too short: 2 bytes' });
});

test('dhcp6 lease: T1/T2 of zero are chosen by the client; bad DNS lengths are ignored with a warning', () => {
  const { lease, warnings } = leaseFromReply(
    replyWith([
      [Opt6.IaNa, ia(0, 0, [[Opt6.IaAddr, iaaddr('fd24::150', 100, 200)]])],
      [Opt6.DnsServers, Buffer.alloc(5)],
    ]),
    IAID,
    0,
  );
  assert.equal(lease?.cidr, 'fd24::150/128');
  assert.deepEqual(lease?.dns, []);
  assert.deepEqual(lease?.times, { acquiredAtMs: 0, preferredSeconds: 100, validSeconds: 200, renewSeconds: 50, rebindSeconds: 80 });
  assert.match(warnings.join(), /option 23/);
});

test('dhcp6 lease: a NoAddrsAvail or NoBinding status, another IAID or a zero valid lifetime grant nothing', () => {
  const status = (code: number): Buffer => Buffer.concat([Buffer.from([0, code]), Buffer.from('no')]);
  assert.equal(leaseFromReply(replyWith([[Opt6.StatusCode, status(2)]]), IAID, 0).status, 2);
  assert.equal(leaseFromReply(replyWith([[Opt6.IaNa, ia(10, 20, [[Opt6.StatusCode, status(3)]])]]), IAID, 0).status, 3);
  assert.equal(leaseFromReply(replyWith([[Opt6.IaNa, ia(10, 20, [[Opt6.IaAddr, iaaddr('fd24::1', 0, 0)]])]]), IAID, 0).lease, undefined);
  assert.equal(leaseFromReply(replyWith([[Opt6.IaNa, ia(10, 20, [[Opt6.IaAddr, iaaddr('fd24::1', 50, 60)]])]]), IAID + 1, 0).lease, undefined);
});
