import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cmdlineValues, parseCmdlineNetworking, splitIpArgument } from './cmdline.ts';

const links = ['eth0', 'eth1', 'lo'];
const parse = (cmdline: string): ReturnType<typeof parseCmdlineNetworking> => parseCmdlineNetworking(cmdline, links);

test('cmdlineValues: every value of a repeated argument, in order', () => {
  assert.deepEqual(cmdlineValues('quiet ip=1 console=ttyS0 ip=2 ipx=3', 'ip'), ['1', '2']);
});

test('splitIpArgument: IPv6 addresses in brackets keep their colons', () => {
  assert.deepEqual(splitIpArgument('[2001:db8::2]::[2001:db8::1]:64::eth0:off'), ['2001:db8::2', '', '2001:db8::1', '64', '', 'eth0', 'off']);
});

test('parseCmdlineNetworking: full static form gives address, gateway, hostname, DNS and NTP', () => {
  const r = parse('ip=10.0.0.5::10.0.0.1:255.255.255.0:node1:eth1:off:10.0.0.53:10.0.0.54:10.0.0.123');
  assert.ok('value' in r);
  assert.deepEqual(r.value, {
    links: [{ linkName: 'eth1', address: '10.0.0.5/24', gateway: '10.0.0.1', dhcp: false }],
    hostname: 'node1',
    dns: ['10.0.0.53', '10.0.0.54'],
    ntp: ['10.0.0.123'],
    ignoreInterfaces: [],
  });
});

test('parseCmdlineNetworking: without a device the first non-loopback link is used; no netmask means a host prefix', () => {
  const r = parse('ip=10.0.0.5');
  assert.ok('value' in r);
  assert.deepEqual(r.value.links, [{ linkName: 'eth0', address: '10.0.0.5/32', dhcp: false }]);
});

test('parseCmdlineNetworking: ip=dhcp, ip=<link>:dhcp and several ip= arguments', () => {
  const r = parse('ip=dhcp ip=eth1:dhcp ip=192.168.1.2::192.168.1.1:24::eth1 talos.hostname=explicit');
  assert.ok('value' in r);
  assert.deepEqual(r.value.links, [
    { linkName: 'eth0', dhcp: true },
    { linkName: 'eth1', dhcp: true },
    { linkName: 'eth1', address: '192.168.1.2/24', gateway: '192.168.1.1', dhcp: false },
  ]);
  assert.equal(r.value.hostname, 'explicit');
});

test('parseCmdlineNetworking: ignored interfaces are skipped when picking the first link', () => {
  const r = parse('talos.network.interface.ignore=eth0 ip=dhcp');
  assert.ok('value' in r);
  assert.deepEqual(r.value.links, [{ linkName: 'eth1', dhcp: true }]);
});

test('parseCmdlineNetworking: a bad address, netmask or DNS server is an error naming the argument', () => {
  for (const [arg, re] of [
    ['ip=10.0.0.300', /client address "10.0.0.300"/],
    ['ip=10.0.0.5::10.0.0.1:255.0.255.0', /netmask "255.0.255.0"/],
    ['ip=10.0.0.5::10.0.0.1:33', /netmask "33"/],
    ['ip=10.0.0.5:::24::eth0:off:nope', /DNS server "nope"/],
  ] as const) {
    const r = parse(arg);
    assert.ok('error' in r, arg);
    assert.match(r.error, re);
    assert.match(r.error, /ip= #1/);
  }
});
