import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toCidr } from './devices.ts';

test('toCidr: bare addresses get a host prefix; invalid CIDRs are refused rather than half-applied', () => {
  assert.deepEqual(toCidr('10.0.0.1'), { cidr: '10.0.0.1/32', family: 'inet4' });
  assert.deepEqual(toCidr('2001:db8::1/64'), { cidr: '2001:db8::1/64', family: 'inet6' });
  for (const bad of ['10.0.0.1/33', '10.0.0.256/24', '2001:db8::1/129', '10.0.0.1/24/1', 'eth0', '10.0.0.1/x', '']) assert.equal(toCidr(bad), undefined, bad);
});
