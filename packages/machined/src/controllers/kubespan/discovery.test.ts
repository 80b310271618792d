import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  KubeSpanLocalIdentityId,
  KubeSpanPeerSpecType,
  LocalIdentityId,
  NamespaceName,
  newDiscoveryConfig,
  newHostnameStatus,
  newIdentity,
  newKubeSpanConfig,
  newKubeSpanEndpoint,
  newKubeSpanIdentity,
  newMachineType,
  newNodename,
  type KubeSpanConfigSpec,
  type KubeSpanPeerSpecSpec,
} from '@talos-ts/machinery';
import { assertResources, startControllerSuite, startDiscoveryService, type ControllerSuite, type DiscoveryProcess } from '@talos-ts/testkit';
import { AffiliateMergeController } from '../cluster/affiliate-merge.ts';
import { DiscoveryServiceController } from '../cluster/discovery-service.ts';
import { LocalAffiliateController } from '../cluster/local-affiliate.ts';
import { kubeSpanAddress } from './address.ts';
import { generateWireGuardKeyPair, type WireGuardKeyPair } from './keys.ts';
import { filterAddresses } from './local-data.ts';
import { KubeSpanPeerSpecController } from './peer-spec.ts';

// Two nodes' cluster and KubeSpan controllers meet through a real discovery service on 127.0.26.1.
let server: DiscoveryProcess;
before(async () => {
  server = await startDiscoveryService('127.0.26.1', ['--gc-interval', '200ms']);
});
after(async () => {
  await server.stop();
});

const cluster = { id: randomBytes(16).toString('base64'), secret: randomBytes(32).toString('base64') };
const peers = { namespace: NamespaceName.kubespan, type: KubeSpanPeerSpecType };

function ksConfig(over: Partial<KubeSpanConfigSpec> = {}): KubeSpanConfigSpec {
  return {
    enabled: true,
    clusterId: cluster.id,
    sharedSecret: cluster.secret,
    forceRouting: true,
    advertiseKubernetesNetworks: false,
    mtu: 0,
    endpointFilters: [],
    harvestExtraEndpoints: true,
    extraEndpoints: [],
    excludeAdvertisedNetworks: [],
    ...over,
  };
}

function startNode(name: string, addresses: string[], mac: string, keys: WireGuardKeyPair, cfg: KubeSpanConfigSpec): ControllerSuite {
  const suite = startControllerSuite({
    controllers: [
      new LocalAffiliateController({ addresses: () => addresses }),
      new DiscoveryServiceController({ ttlMs: 60_000, retryMinMs: 50, retryMaxMs: 500 }),
      new AffiliateMergeController(),
      new KubeSpanPeerSpecController(),
    ],
  });
  suite.state.create(newIdentity(LocalIdentityId, { nodeId: `id-${name}` }));
  suite.state.create(newHostnameStatus({ hostname: name, domainname: '' }));
  suite.state.create(newNodename({ nodename: name, hostnameVersion: '1' }));
  suite.state.create(newMachineType({ machineType: 'worker' }));
  suite.state.create(
    newDiscoveryConfig({
      discoveryEnabled: true,
      registryKubernetesEnabled: false,
      registryServiceEnabled: true,
      serviceEndpoint: server.address,
      serviceEndpointInsecure: true,
      serviceEncryptionKey: cluster.secret,
      serviceClusterID: cluster.id,
    }),
  );
  suite.state.create(newKubeSpanConfig(cfg));
  suite.state.create(newKubeSpanIdentity(KubeSpanLocalIdentityId, { ...kubeSpanAddress(cluster.id, mac), ...keys }));
  return suite;
}

test('filterAddresses: negated subnets exclude, positive ones (when any) must match', () => {
  const all = ['10.5.0.2', '192.168.1.2', 'fd10::2', '172.16.0.1'];
  assert.deepEqual(filterAddresses(all, ['0.0.0.0/0', '!192.168.0.0/16']), ['10.5.0.2', '172.16.0.1']);
  assert.deepEqual(filterAddresses(all, ['!10.0.0.0/8']), ['192.168.1.2', 'fd10::2', '172.16.0.1']);
  assert.deepEqual(filterAddresses(all, ['fd10::/16']), ['fd10::2']);
});

test('KubeSpan over discovery: each node learns the other as a peer (key, mesh address, filtered endpoints); endpoints harvested by one node reach the others', async () => {
  const ka = generateWireGuardKeyPair();
  const kb = generateWireGuardKeyPair();
  await using a = startNode('ks-a', ['127.0.26.11', '192.168.77.11'], '52:54:00:00:26:11', ka, ksConfig({ endpointFilters: ['!192.168.0.0/16'] }));
  await using b = startNode('ks-b', ['127.0.26.12'], '52:54:00:00:26:12', kb, ksConfig());
  const addressA = kubeSpanAddress(cluster.id, '52:54:00:00:26:11').address.split('/')[0]!;
  const addressB = kubeSpanAddress(cluster.id, '52:54:00:00:26:12').address.split('/')[0]!;
  await assertResources<KubeSpanPeerSpecSpec>(b.state, peers, {
    ids: [ka.publicKey],
    exact: true,
    timeoutMs: 15_000,
    check: (r) =>
      assert.deepEqual(r.spec, {
        address: addressA,
        allowedIPs: ['127.0.26.11/32', '192.168.77.11/32', `${addressA}/128`],
        endpoints: ['127.0.26.11:51820'],
        label: 'ks-a',
      }),
  });
  await assertResources<KubeSpanPeerSpecSpec>(a.state, peers, {
    ids: [kb.publicKey],
    exact: true,
    timeoutMs: 15_000,
    check: (r) => {
      assert.deepEqual(r.spec.endpoints, ['127.0.26.12:51820']);
      assert.equal(r.spec.address, addressB);
    },
  });
  // B reached A on another address: B publishes it on A's behalf, and the service adds it to A's
  // endpoints for every member, B included.
  b.state.create(newKubeSpanEndpoint(ka.publicKey, { affiliateID: 'id-ks-a', endpoint: '10.99.0.11:51820' }));
  await assertResources<KubeSpanPeerSpecSpec>(b.state, peers, {
    ids: [ka.publicKey],
    timeoutMs: 15_000,
    check: (r) => assert.deepEqual([...r.spec.endpoints].sort(), ['10.99.0.11:51820', '127.0.26.11:51820']),
  });
});
