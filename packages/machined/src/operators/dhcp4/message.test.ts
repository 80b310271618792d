import test from 'node:test';
import assert from 'node:assert/strict';
import { MessageType, Option, decodeMessage, encodeMessage, ipBytes, messageTypeOf, type Dhcp4Message } from './message.ts';
import { leaseFromAck, maskToPrefix, parseClasslessRoutes, parseDomainSearch } from './lease.ts';

const MAC = Buffer.from('020000000001', 'hex');

function ack(options: [number, Buffer][]): Dhcp4Message {
  return {
    op: 2,
    xid: 0x1234,
    secs: 0,
    flags: 0,
    ciaddr: '0.0.0.0',
    yiaddr: '192.168.1.20',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: MAC,
    options: new Map<number, Buffer>([
      [Option.MessageType, Buffer.from([MessageType.Ack])],
      [Option.ServerId, ipBytes('192.168.1.1')],
      ...options,
    ]),
  };
}

test('dhcp4 codec: a message survives encode and decode, padded to the BOOTP minimum of 300 bytes', () => {
  const msg = ack([[Option.HostName, Buffer.from('node-1')]]);
  const wire = encodeMessage(msg);
  assert.equal(wire.length, 300);
  const back = decodeMessage(wire);
  assert.ok('value' in back);
  assert.deepEqual(back.warnings, []);
  assert.equal(back.value.xid, 0x1234);
  assert.equal(back.value.yiaddr, '192.168.1.20');
  assert.deepEqual(back.value.chaddr, MAC);
  assert.equal(messageTypeOf(back.value), MessageType.Ack);
  assert.equal(back.value.options.get(Option.HostName)?.toString(), 'node-1');
});

test('dhcp4 codec: short messages and a missing magic cookie are rejected, never thrown', () => {
  assert.deepEqual(decodeMessage(Buffer.alloc(10)), { error: 'message too short: 10 bytes' });
  const wire = encodeMessage(ack([]));
  wire.writeUInt32BE(0, 236);
  assert.deepEqual(decodeMessage(wire), { error: 'no DHCP magic cookie' });
});

test('dhcp4 codec: a truncated option ends the scan with a warning and keeps the options before it', () => {
  const wire = encodeMessage(ack([]));
  const end = wire.indexOf(Option.End, 240);
  const cut = Buffer.concat([wire.subarray(0, end), Buffer.from([Option.HostName, 20, 0x41])]);
  const r = decodeMessage(cut);
  assert.ok('value' in r);
  assert.match(r.warnings.join(), /option 12 truncated/);
  assert.equal(messageTypeOf(r.value), MessageType.Ack);
});

test('dhcp4 codec: options split across several instances are joined (RFC 3396)', () => {
  const long = Buffer.alloc(300, 0x61);
  const r = decodeMessage(encodeMessage(ack([[Option.HostName, long]])));
  assert.ok('value' in r);
  assert.equal(r.value.options.get(Option.HostName)?.length, 300);
});

test('dhcp4 lease: option 121 wins over the router option and carries the default route (RFC 3442)', () => {
  const routes = Buffer.from([24, 10, 1, 2, 192, 168, 1, 5, 0, 192, 168, 1, 254, 32, 10, 9, 9, 9, 192, 168, 1, 6]);
  const { lease, warnings } = leaseFromAck(
    ack([
      [Option.SubnetMask, ipBytes('255.255.255.0')],
      [Option.Router, ipBytes('192.168.1.1')],
      [Option.ClasslessStaticRoute, routes],
    ]),
    1000,
  );
  assert.deepEqual(warnings, []);
  assert.equal(lease?.cidr, '192.168.1.20/24');
  assert.equal(lease?.gateway, '192.168.1.254');
  assert.deepEqual(lease?.routes, [
    { destination: '10.1.2.0/24', gateway: '192.168.1.5' },
    { destination: '0.0.0.0/0', gateway: '192.168.1.254' },
    { destination: '10.9.9.9/32', gateway: '192.168.1.6' },
  ]);
});

test('dhcp4 lease: without option 121 the first router is the default gateway; timers default to 1/2 and 7/8', () => {
  const lease = leaseFromAck(
    ack([
      [Option.Router, Buffer.concat([ipBytes('192.168.1.1'), ipBytes('192.168.1.2')])],
      [Option.LeaseTime, Buffer.from([0, 0, 0x0e, 0x10])],
      [Option.InterfaceMtu, Buffer.from([0x05, 0x78])],
    ]),
    5,
  ).lease;
  assert.equal(lease?.gateway, '192.168.1.1');
  assert.deepEqual(lease?.routes, [{ destination: '0.0.0.0/0', gateway: '192.168.1.1' }]);
  assert.equal(lease?.mtu, 1400);
  assert.deepEqual(lease?.times, { acquiredAtMs: 5, leaseSeconds: 3600, renewSeconds: 1800, rebindSeconds: 3150 });
  // No subnet mask: the classful prefix of 192.168/16 is /24.
  assert.equal(lease?.prefixLength, 24);
});

test('dhcp4 lease: malformed options are named in warnings and left out; the lease still forms', () => {
  const { lease, warnings } = leaseFromAck(
    ack([
      [Option.SubnetMask, ipBytes('255.0.255.0')],
      [Option.DomainNameServer, Buffer.from([1, 2, 3])],
      [Option.InterfaceMtu, Buffer.from([0, 10])],
      [Option.HostName, Buffer.from('bad host\n')],
      [Option.ClasslessStaticRoute, Buffer.from([33, 1])],
      [Option.DomainSearch, Buffer.from([3, 0x61, 0x62, 0x63, 0xc0, 0x09])],
      [Option.RenewalTime, Buffer.from([0, 0, 0xff, 0xff])],
    ]),
    0,
  );
  assert.ok(lease);
  assert.equal(lease.prefixLength, 24);
  assert.deepEqual(lease.dns, []);
  assert.equal(lease.mtu, undefined);
  assert.equal(lease.hostname, undefined);
  assert.deepEqual(lease.routes, []);
  assert.deepEqual(lease.searchDomains, []);
  // T1 past T2 falls back to half the lease.
  assert.equal(lease.times.renewSeconds, 1800);
  for (const code of ['option 1 ', 'option 6 ', 'option 26 ', 'option 12 ', 'option 121 ', 'option 119 ']) {
    assert.ok(warnings.some((w) => w.startsWith(code)), `${code}: ${warnings.join('; ')}`);
  }
});

test('dhcp4 lease: an ACK without a server identifier gives no lease', () => {
  const msg = ack([]);
  (msg.options as Map<number, Buffer>).delete(Option.ServerId);
  assert.equal(leaseFromAck(msg, 0).lease, undefined);
});

test('dhcp4 options: search domains follow compression pointers; loops and forward pointers are refused', () => {
  const wire = Buffer.from([3, ...Buffer.from('eng'), 7, ...Buffer.from('example'), 3, ...Buffer.from('com'), 0, 3, ...Buffer.from('ops'), 0xc0, 4]);
  assert.deepEqual(parseDomainSearch(wire), { names: ['eng.example.com', 'ops.example.com'] });
  assert.ok('error' in parseDomainSearch(Buffer.from([0xc0, 0])));
  assert.ok('error' in parseDomainSearch(Buffer.from([0xc0, 5, 0, 0, 0, 0])));
  assert.ok('error' in parseClasslessRoutes(Buffer.from([8, 10, 1, 2])));
  assert.equal(maskToPrefix('255.255.252.0'), 22);
  assert.equal(maskToPrefix('0.0.0.0'), 0);
  assert.equal(maskToPrefix('255.0.255.0'), undefined);
});
