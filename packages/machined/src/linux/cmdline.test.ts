import test from 'node:test';
import assert from 'node:assert/strict';
import { cmdlineValues, earlyIpArgument, parseCmdline, parseIpArgument } from './cmdline.ts';

test('parseCmdline: keys, bare flags and quoted values', () => {
  const m = parseCmdline('console=ttyS0 quiet talos.platform=metal msg="a b"\n');
  assert.equal(m.get('console'), 'ttyS0');
  assert.equal(m.get('quiet'), '');
  assert.equal(m.get('msg'), 'a b');
});

test('parseIpArgument: the full static form with netmask, hostname, device and two DNS servers', () => {
  const r = parseIpArgument('10.0.2.15::10.0.2.2:255.255.255.0:node1:eth0:off:10.0.2.3:1.1.1.1:pool.ntp.org');
  assert.ok('value' in r);
  assert.deepEqual(r.value, {
    address: '10.0.2.15', gateway: '10.0.2.2', prefixLength: 24, hostname: 'node1', device: 'eth0', autoconf: 'off',
    dns: ['10.0.2.3', '1.1.1.1'], ntp: ['pool.ntp.org'],
  });
});

test('parseIpArgument: a non-contiguous netmask is an error; dhcp is autoconf only', () => {
  assert.ok('error' in parseIpArgument('10.0.0.2::10.0.0.1:255.0.255.0::eth0:off'));
  assert.deepEqual(parseIpArgument('dhcp'), { value: { autoconf: 'dhcp', dns: [], ntp: [] } });
});

test('parseIpArgument: <link>:dhcp names the device instead of being read as a client address', () => {
  assert.deepEqual(parseIpArgument('eth1:dhcp'), { value: { device: 'eth1', autoconf: 'dhcp', dns: [], ntp: [] } });
});

test('earlyIpArgument: with a static ip= and a later ip=eth1:dhcp, the static one is applied early', () => {
  const text = 'console=ttyS0 ip=10.0.2.15::10.0.2.2:255.255.255.0:vm:eth0:off:10.0.2.3 ip=eth1:dhcp quiet';
  assert.deepEqual(cmdlineValues(text, 'ip'), ['10.0.2.15::10.0.2.2:255.255.255.0:vm:eth0:off:10.0.2.3', 'eth1:dhcp']);
  const errors: string[] = [];
  const ip = earlyIpArgument(cmdlineValues(text, 'ip'), (e) => errors.push(e));
  assert.equal(ip?.address, '10.0.2.15');
  assert.equal(ip?.device, 'eth0');
  assert.equal(errors.length, 0);
  assert.equal(earlyIpArgument(['eth1:dhcp', '10.0.0.2::10.0.0.1:255.0.255.0::eth0:off'], (e) => errors.push(e))?.autoconf, 'dhcp');
  assert.equal(errors.length, 1);
});
