import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AffiliateType, MemberType, NamespaceName, newAffiliate, type AffiliateSpec, type MemberSpec } from '@talos-ts/machinery';
import { assertResources, startControllerSuite } from '@talos-ts/testkit';
import { AffiliateMergeController } from './affiliate-merge.ts';
import { createMemberController } from './member.ts';

const merged = { namespace: NamespaceName.cluster, type: AffiliateType };
const members = { namespace: NamespaceName.cluster, type: MemberType };

const spec = (over: Partial<AffiliateSpec>): AffiliateSpec => ({
  nodeId: 'n1',
  addresses: [],
  hostname: '',
  nodename: '',
  operatingSystem: '',
  machineType: 'unknown',
  ...over,
});

test('AffiliateMergeController: raw affiliates of one node from several sources merge by node id; Members need a nodename', async () => {
  await using suite = startControllerSuite({ controllers: [new AffiliateMergeController(), createMemberController()] });
  suite.state.create(newAffiliate(NamespaceName.clusterRaw, 'k8s/n1', spec({ addresses: ['10.0.0.1'], hostname: 'one', machineType: 'worker' })));
  suite.state.create(newAffiliate(NamespaceName.clusterRaw, 'service/n1', spec({ addresses: ['10.0.0.2', '10.0.0.1'], nodename: 'one', operatingSystem: 'Talos (v1)' })));
  suite.state.create(newAffiliate(NamespaceName.clusterRaw, 'service/n2', spec({ nodeId: 'n2', hostname: 'kubespan-only' })));
  await assertResources<AffiliateSpec>(suite.state, merged, {
    ids: ['n1', 'n2'],
    exact: true,
    check: (r) => {
      if (r.metadata.id === 'n1') assert.deepEqual(r.spec, spec({ addresses: ['10.0.0.1', '10.0.0.2'], hostname: 'one', nodename: 'one', operatingSystem: 'Talos (v1)', machineType: 'worker' }));
    },
  });
  await assertResources<MemberSpec>(suite.state, members, {
    ids: ['one'],
    exact: true,
    check: (r) => assert.deepEqual(r.spec, { nodeId: 'n1', addresses: ['10.0.0.1', '10.0.0.2'], hostname: 'one', machineType: 'worker', operatingSystem: 'Talos (v1)' }),
  });
  suite.state.destroy({ namespace: NamespaceName.clusterRaw, type: AffiliateType, id: 'service/n1' });
  await assertResources(suite.state, members, { ids: [], exact: true });
  await assertResources<AffiliateSpec>(suite.state, merged, { ids: ['n1', 'n2'], exact: true, check: (r) => assert.ok(r.metadata.id !== 'n1' || r.spec.addresses.length === 1) });
  suite.state.destroy({ namespace: NamespaceName.clusterRaw, type: AffiliateType, id: 'k8s/n1' });
  await assertResources(suite.state, merged, { ids: ['n2'], exact: true });
});
