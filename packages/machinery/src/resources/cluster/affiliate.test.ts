import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeAffiliateSpecs, type AffiliateSpec } from './affiliate.ts';

const base: AffiliateSpec = {
  nodeId: 'n1',
  addresses: ['10.0.0.1'],
  hostname: 'a',
  nodename: 'a',
  operatingSystem: 'Talos (v1)',
  machineType: 'worker',
};

test('mergeAffiliateSpecs: addresses are unioned in order, set fields of the other source win', () => {
  const m = mergeAffiliateSpecs(base, { ...base, addresses: ['10.0.0.2', '10.0.0.1'], hostname: 'b', controlPlane: { port: 6443 } });
  assert.deepEqual(m.addresses, ['10.0.0.1', '10.0.0.2']);
  assert.equal(m.hostname, 'b');
  assert.deepEqual(m.controlPlane, { port: 6443 });
});

test('mergeAffiliateSpecs: empty fields and unknown machine type of the other source keep the base', () => {
  const m = mergeAffiliateSpecs({ ...base, controlPlane: { port: 6443 } }, { ...base, hostname: '', nodename: '', machineType: 'unknown', addresses: [] });
  assert.equal(m.hostname, 'a');
  assert.equal(m.nodename, 'a');
  assert.equal(m.machineType, 'worker');
  assert.deepEqual(m.controlPlane, { port: 6443 });
  assert.equal(m.kubespan, undefined);
});
