import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InMemoryState, resolveResourceDefinition } from '@talos-ts/cosi';
import { registerTalosResources, talosResourceDefinitions } from './registry.ts';

test('registry: every Talos type registers without alias clashes and resolves by its upstream short names', () => {
  const s = new InMemoryState();
  registerTalosResources(s);
  for (const d of talosResourceDefinitions) assert.equal(resolveResourceDefinition(s, d.type).type, d.type);
  const cases: [string, string][] = [
    ['svc', 'Services.v1alpha1.talos.dev'],
    ['services', 'Services.v1alpha1.talos.dev'],
    ['mc', 'MachineConfigs.config.talos.dev'],
    ['machineconfig', 'MachineConfigs.config.talos.dev'],
    ['machinetype', 'MachineTypes.config.talos.dev'],
    ['version', 'Versions.runtime.talos.dev'],
    ['hostname', 'HostnameStatuses.net.talos.dev'],
    ['nodename', 'Nodenames.kubernetes.talos.dev'],
    ['members', 'Members.cluster.talos.dev'],
    ['member', 'Members.cluster.talos.dev'],
    ['affiliates', 'Affiliates.cluster.talos.dev'],
    ['identities', 'Identities.cluster.talos.dev'],
    ['identity', 'Identities.cluster.talos.dev'],
    ['discoveryconfigs', 'DiscoveryConfigs.cluster.talos.dev'],
    ['kubespanidentities', 'KubeSpanIdentities.kubespan.talos.dev'],
    ['kubespanidentity', 'KubeSpanIdentities.kubespan.talos.dev'],
    ['kubespanpeerspecs', 'KubeSpanPeerSpecs.kubespan.talos.dev'],
    ['kubespanpeerstatuses', 'KubeSpanPeerStatuses.kubespan.talos.dev'],
    ['kubespanpeerstatus', 'KubeSpanPeerStatuses.kubespan.talos.dev'],
    ['kubespanendpoints', 'KubeSpanEndpoints.kubespan.talos.dev'],
    ['kubespanconfigs', 'KubeSpanConfigs.kubespan.talos.dev'],
    ['links', 'LinkStatuses.net.talos.dev'],
    ['addresses', 'AddressStatuses.net.talos.dev'],
    ['routes', 'RouteStatuses.net.talos.dev'],
    ['resolvers', 'ResolverStatuses.net.talos.dev'],
    ['timeservers', 'TimeServerStatuses.net.talos.dev'],
    ['nodeaddresses', 'NodeAddresses.net.talos.dev'],
    ['networkstatus', 'NetworkStatuses.net.talos.dev'],
    ['netstatus', 'NetworkStatuses.net.talos.dev'],
    ['addressspecs', 'AddressSpecs.net.talos.dev'],
    ['operatorspecs', 'OperatorSpecs.net.talos.dev'],
    ['volumestatus', 'VolumeStatuses.block.talos.dev'],
    ['volumestatuses', 'VolumeStatuses.block.talos.dev'],
    ['rd', 'ResourceDefinitions.meta.cosi.dev'],
    ['ns', 'Namespaces.meta.cosi.dev'],
  ];
  for (const [alias, type] of cases) assert.equal(resolveResourceDefinition(s, alias).type, type, alias);
});

test('registry: secret-bearing types are sensitive', () => {
  const s = new InMemoryState();
  registerTalosResources(s);
  assert.equal(resolveResourceDefinition(s, 'mc').sensitivity, 'sensitive');
  assert.equal(resolveResourceDefinition(s, 'ApiCertificates.secrets.talos.dev').sensitivity, 'sensitive');
  assert.equal(resolveResourceDefinition(s, 'discoveryconfigs').sensitivity, 'sensitive');
  assert.equal(resolveResourceDefinition(s, 'kubespanidentities').sensitivity, 'sensitive');
  assert.equal(resolveResourceDefinition(s, 'kubespanconfigs').sensitivity, 'sensitive');
  assert.equal(resolveResourceDefinition(s, 'kubespanpeerstatuses').sensitivity, 'non-sensitive');
  assert.equal(resolveResourceDefinition(s, 'svc').sensitivity, 'non-sensitive');
  assert.equal(resolveResourceDefinition(s, 'members').sensitivity, 'non-sensitive');
});
