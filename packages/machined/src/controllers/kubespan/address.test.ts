import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kubeSpanAddress, kubeSpanSubnet, parseMac } from './address.ts';

// Expected values computed apart from this code (Python: hashlib.sha256, bytes 16..23 of the digest,
// fd in byte 0, 0x02 in byte 7; EUI-64 by hand), not by running it.
test('kubeSpanSubnet: ULA /64 from the tail of SHA-256(cluster id) with the KubeSpan purpose byte', () => {
  assert.equal(kubeSpanSubnet('8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo='), 'fd7f:175a:b97c:5602::/64');
  assert.equal(kubeSpanSubnet('my-cluster-id'), 'fd8c:becb:4699:f002::/64');
});

test('kubeSpanAddress: modified EUI-64 of the first MAC inside the cluster subnet, as a /128', () => {
  assert.deepEqual(kubeSpanAddress('8XuV9TZHW08DOk3bVxQjH9ih_TBKjnh-j44tsCLSBzo=', '00:16:3e:6c:4d:67'), {
    address: 'fd7f:175a:b97c:5602:216:3eff:fe6c:4d67/128',
    subnet: 'fd7f:175a:b97c:5602::/64',
  });
  // The universal/local bit is flipped: 52 → 50.
  assert.equal(kubeSpanAddress('my-cluster-id', '52:54:00:12:34:56').address, 'fd8c:becb:4699:f002:5054:ff:fe12:3456/128');
});

test('kubeSpanAddress: a MAC that is not 6 or 8 hex bytes is InvalidArgument', () => {
  assert.equal(parseMac('00:16:3e:6c:4d'), undefined);
  assert.equal(parseMac('zz:16:3e:6c:4d:67'), undefined);
  assert.throws(() => kubeSpanAddress('c', ''), /cannot derive a KubeSpan address/);
});
