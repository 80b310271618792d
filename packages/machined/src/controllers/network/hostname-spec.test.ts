import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HostnameStatusType, NamespaceName, newHostnameSpec } from '@talos-ts/machinery';
import { assertResources, startControllerSuite } from '@talos-ts/testkit';
import { HostnameSpecController } from './hostname-spec.ts';

test('HostnameSpecController: the kernel gets the short name once per change; HostnameStatus keeps the domain', async () => {
  const set: string[] = [];
  await using suite = startControllerSuite({ controllers: [new HostnameSpecController({ setKernelHostname: (n) => set.push(n) })] });
  suite.state.create(newHostnameSpec(NamespaceName.network, 'hostname', { hostname: 'n1', domainname: 'example.org', layer: 'configuration' }));
  await assertResources(suite.state, { namespace: NamespaceName.network, type: HostnameStatusType }, { ids: ['hostname'], check: (r) => assert.deepEqual(r.spec, { hostname: 'n1', domainname: 'example.org' }) });
  suite.state.modify({ namespace: NamespaceName.network, type: 'HostnameSpecs.net.talos.dev', id: 'hostname' }, (d) => {
    (d as { spec: { hostname: string } }).spec.hostname = 'n2';
  });
  await assertResources(suite.state, { namespace: NamespaceName.network, type: HostnameStatusType }, { ids: ['hostname'], check: (r) => assert.equal((r.spec as { hostname: string }).hostname, 'n2') });
  assert.deepEqual(set, ['n1', 'n2']);
});
