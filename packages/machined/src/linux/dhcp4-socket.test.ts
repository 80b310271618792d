import test from 'node:test';
import assert from 'node:assert/strict';
import { udpPayload } from './dhcp4-socket.ts';

function datagram(payload: Buffer, opts: { ihl?: number; proto?: number; udpLength?: number } = {}): Buffer {
  const ihl = opts.ihl ?? 5;
  const ip = Buffer.alloc(ihl * 4);
  ip[0] = 0x40 | ihl;
  ip[9] = opts.proto ?? 17;
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(67, 0);
  udp.writeUInt16BE(68, 2);
  udp.writeUInt16BE(opts.udpLength ?? 8 + payload.length, 4);
  return Buffer.concat([ip, udp, payload, Buffer.alloc(4)]);
}

test('udpPayload: the DHCP payload is cut out of the IP datagram (options and Ethernet padding skipped)', () => {
  const p = Buffer.from('hello dhcp payload, long enough');
  assert.deepEqual(udpPayload(datagram(p)), p);
  assert.deepEqual(udpPayload(datagram(p, { ihl: 6 })), p);
});

test('udpPayload: not UDP, not IPv4, or a UDP length past the end gives nothing', () => {
  const p = Buffer.alloc(40, 1);
  assert.equal(udpPayload(datagram(p, { proto: 6 })), null);
  assert.equal(udpPayload(datagram(p, { udpLength: 500 })), null);
  const v6 = datagram(p);
  v6[0] = 0x65;
  assert.equal(udpPayload(v6), null);
  assert.equal(udpPayload(Buffer.alloc(10)), null);
});
