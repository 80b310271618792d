import { test } from 'node:test';
import assert from 'node:assert/strict';
import { assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { newResource, withSpec } from '../resource.ts';
import { createTransformController } from './transform.ts';
import { createMergeController } from './merge.ts';

const Links = { namespace: 'network', type: 'LinkSpecs.net.talos.dev' };
const Statuses = { namespace: 'network', type: 'LinkStatuses.net.talos.dev' };
const Configs = { namespace: 'network', type: 'AddressConfigs.net.talos.dev' };
const Merged = { namespace: 'network', type: 'AddressSpecs.net.talos.dev' };

interface LinkSpec {
  name: string;
  mtu: number;
  up?: boolean;
}

const upper = createTransformController<LinkSpec, { name: string; mtu: number }>({
  name: 'test.LinkStatusController',
  input: Links,
  output: Statuses,
  transform: (r) => (r.spec.up === false ? undefined : { spec: { name: r.spec.name.toUpperCase(), mtu: r.spec.mtu } }),
});

test('TransformController: each input yields an output that follows its changes', async () => {
  await using suite = startControllerSuite({ controllers: [upper] });
  const s = suite.state;
  const eth0 = s.create(newResource(Links, 'eth0', { name: 'eth0', mtu: 1500 }));
  s.create(newResource(Links, 'eth1', { name: 'eth1', mtu: 9000 }));
  await assertResources<{ name: string }>(s, Statuses, { ids: ['eth0', 'eth1'], exact: true, check: (r) => assert.match(r.spec.name, /^ETH/) });
  s.update(withSpec(eth0, { name: 'eth0', mtu: 1400 }));
  await assertResources<{ mtu: number }>(s, Statuses, { ids: ['eth0'], check: (r) => assert.equal(r.spec.mtu, 1400) });
  assert.equal(s.get({ ...Statuses, id: 'eth0' }).metadata.owner, 'test.LinkStatusController');
});

test('TransformController: outputs are removed when their input is destroyed, torn down or filtered out', async () => {
  await using suite = startControllerSuite({ controllers: [upper] });
  const s = suite.state;
  for (const n of ['a', 'b', 'c']) s.create(newResource(Links, n, { name: n, mtu: 1500 }));
  await assertResources(s, Statuses, { ids: ['a', 'b', 'c'] });
  s.destroy({ ...Links, id: 'a' });
  await assertNoResource(s, { ...Statuses, id: 'a' });
  s.addFinalizer({ ...Links, id: 'b' }, 'someone');
  s.teardown({ ...Links, id: 'b' });
  await assertNoResource(s, { ...Statuses, id: 'b' });
  s.modify<LinkSpec>({ ...Links, id: 'c' }, (d) => void (d.spec.up = false));
  await assertNoResource(s, { ...Statuses, id: 'c' });
});

test('TransformController: an output held by a finalizer is torn down and destroyed once released', async () => {
  await using suite = startControllerSuite({ controllers: [upper] });
  const s = suite.state;
  s.create(newResource(Links, 'x', { name: 'x', mtu: 1500 }));
  await assertResources(s, Statuses, { ids: ['x'] });
  s.addFinalizer({ ...Statuses, id: 'x' }, 'consumer');
  s.destroy({ ...Links, id: 'x' });
  await assertResources(s, Statuses, { ids: ['x'], check: (r) => assert.equal(r.metadata.phase, 'tearingDown') });
  s.removeFinalizer({ ...Statuses, id: 'x' }, 'consumer');
  await assertNoResource(s, { ...Statuses, id: 'x' });
});

interface AddressConfig {
  address: string;
  layer: number;
  link: string;
}

const merge = createMergeController<AddressConfig>({
  name: 'test.AddressMergeController',
  input: Configs,
  output: Merged,
  key: (r) => r.spec.link,
  layer: (r) => r.spec.layer,
});

test('MergeController: the highest layer wins, and falls back when it goes', async () => {
  await using suite = startControllerSuite({ controllers: [merge] });
  const s = suite.state;
  s.create(newResource(Configs, 'default/eth0', { address: '10.0.0.1/24', layer: 0, link: 'eth0' }));
  s.create(newResource(Configs, 'configuration/eth0', { address: '10.0.0.9/24', layer: 4, link: 'eth0' }));
  s.create(newResource(Configs, 'platform/eth0', { address: '10.0.0.5/24', layer: 2, link: 'eth0' }));
  s.create(newResource(Configs, 'default/eth1', { address: '10.1.0.1/24', layer: 0, link: 'eth1' }));
  await assertResources<AddressConfig>(s, Merged, {
    ids: ['eth0', 'eth1'],
    exact: true,
    check: (r) => assert.equal(r.spec.address, r.metadata.id === 'eth0' ? '10.0.0.9/24' : '10.1.0.1/24'),
  });
  s.destroy({ ...Configs, id: 'configuration/eth0' });
  await assertResources<AddressConfig>(s, Merged, { ids: ['eth0'], check: (r) => assert.equal(r.spec.address, '10.0.0.5/24') });
  s.destroy({ ...Configs, id: 'default/eth1' });
  await assertNoResource(s, { ...Merged, id: 'eth1' });
});

test('MergeController: a custom merge folds layers from lowest to highest', async () => {
  const joined = createMergeController<AddressConfig, { addresses: string[] }>({
    name: 'test.JoinMergeController',
    input: Configs,
    output: Merged,
    key: (r) => r.spec.link,
    layer: (r) => r.spec.layer,
    merge: (layers) => ({ addresses: layers.map((l) => l.spec.address) }),
  });
  await using suite = startControllerSuite({ controllers: [joined] });
  const s = suite.state;
  s.create(newResource(Configs, 'b', { address: 'high', layer: 3, link: 'eth0' }));
  s.create(newResource(Configs, 'a', { address: 'low', layer: 1, link: 'eth0' }));
  await assertResources<{ addresses: string[] }>(s, Merged, { ids: ['eth0'], check: (r) => assert.deepEqual(r.spec.addresses, ['low', 'high']) });
});
