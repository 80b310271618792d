import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectLink, toCidr } from './devices.ts';

test('toCidr: bare addresses get a host prefix; invalid CIDRs are refused rather than half-applied', () => {
  assert.deepEqual(toCidr('10.0.0.1'), { cidr: '10.0.0.1/32', family: 'inet4' });
  assert.deepEqual(toCidr('2001:db8::1/64'), { cidr: '2001:db8::1/64', family: 'inet6' });
  for (const bad of ['10.0.0.1/33', '10.0.0.256/24', '2001:db8::1/129', '10.0.0.1/24/1', 'eth0', '10.0.0.1/x', '']) assert.equal(toCidr(bad), undefined, bad);
});

test('selectLink: hardwareAddr globs and physical must all match; fields we cannot evaluate match nothing', () => {
  const links = [
    { name: 'eth1', hardwareAddr: '52:54:00:aa:bb:02', physical: true },
    { name: 'eth0', hardwareAddr: '52:54:00:aa:bb:01', physical: true },
    { name: 'br0', hardwareAddr: '52:54:00:aa:bb:03', physical: false },
  ];
  assert.equal(selectLink({ hardwareAddr: '52:54:00:AA:BB:02' }, links), 'eth1');
  assert.equal(selectLink({ hardwareAddr: '52:54:00:*' }, links), 'br0');
  assert.equal(selectLink({ hardwareAddr: '52:54:00:*', physical: true }, links), 'eth0');
  assert.equal(selectLink({ hardwareAddr: '52:54:00:aa:bb:0?', physical: false }, links), 'br0');
  assert.equal(selectLink({ hardwareAddr: 'de:ad:*' }, links), undefined);
  assert.equal(selectLink({ driver: 'virtio_net' }, links), undefined);
  assert.equal(selectLink({}, links), undefined);
});
