import test from 'node:test';
import assert from 'node:assert/strict';
import { ackErrno, addressMessage, nlmsg, routeMessage, rtattr } from './netlink.ts';

test('netlink: attributes are length-prefixed and padded to 4 bytes', () => {
  const a = rtattr(3, Buffer.from('eth0\0'));
  assert.equal(a.length, 12);
  assert.equal(a.readUInt16LE(0), 9);
  assert.equal(a.readUInt16LE(2), 3);
});

test('netlink: RTM_NEWADDR carries family, prefix, index and the address twice (local and address)', () => {
  const m = nlmsg(20, 0x405, 7, addressMessage(2, '10.0.2.15', 24));
  assert.equal(m.readUInt32LE(0), m.length);
  assert.equal(m.readUInt16LE(4), 20);
  assert.equal(m.readUInt32LE(8), 7);
  assert.deepEqual([m[16], m[17]], [2, 24]);
  assert.equal(m.readUInt32LE(20), 2);
  assert.deepEqual([...m.subarray(24, 28)], [8, 0, 2, 0]);
  assert.deepEqual([...m.subarray(28, 32)], [10, 0, 2, 15]);
  assert.deepEqual([...m.subarray(32, 40)], [8, 0, 1, 0, 10, 0, 2, 15]);
  assert.throws(() => addressMessage(2, 'fe80::1', 64), /not an IPv4 address/);
});

test('netlink: a default route has no destination; the gateway and output interface are attributes', () => {
  const r = routeMessage(3, '10.0.2.2');
  assert.equal(r[1], 0);
  assert.equal(r[4], 254);
  assert.deepEqual([...r.subarray(12, 20)], [8, 0, 5, 0, 10, 0, 2, 2]);
  assert.equal(r.readUInt32LE(24), 3);
  assert.equal(r[5], 4, 'protocol static, as RouteSpecController makes it');
  assert.deepEqual([r.readUInt16LE(28), r.readUInt16LE(30), r.readUInt32LE(32)], [8, 6, 1024], 'metric 1024, as the ip= RouteSpec');
});

test('netlink: acknowledgements are matched by sequence number and carry the negated errno', () => {
  const err = Buffer.alloc(36);
  err.writeUInt32LE(36, 0);
  err.writeUInt16LE(2, 4);
  err.writeUInt32LE(9, 8);
  err.writeInt32LE(-17, 16);
  assert.equal(ackErrno(err, 9), 17);
  assert.equal(ackErrno(err, 10), undefined);
});
