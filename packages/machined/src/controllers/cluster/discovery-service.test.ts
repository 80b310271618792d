import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AffiliateType,
  DiscoveryClient,
  DiscoveryConfigId,
  DiscoveryConfigType,
  LocalIdentityId,
  MemberType,
  NamespaceName,
  newDiscoveryConfig,
  newHostnameStatus,
  newIdentity,
  newMachineType,
  newNodename,
  type AffiliateSpec,
  type DiscoveryConfigSpec,
  type MachineKind,
  type MemberSpec,
} from '@talos-ts/machinery';
import { assertResources, startControllerSuite, startDiscoveryService, type ControllerSuite, type DiscoveryProcess } from '@talos-ts/testkit';
import { AffiliateMergeController } from './affiliate-merge.ts';
import { DiscoveryServiceController } from './discovery-service.ts';
import { LocalAffiliateController } from './local-affiliate.ts';
import { createMemberController } from './member.ts';

const members = { namespace: NamespaceName.cluster, type: MemberType };
const raw = { namespace: NamespaceName.clusterRaw, type: AffiliateType };
let server: DiscoveryProcess;

before(async () => {
  server = await startDiscoveryService('127.0.0.1', ['--gc-interval', '200ms']);
});
after(async () => {
  await server.stop();
});

interface Cluster {
  readonly id: string;
  readonly secret: string;
}

function newCluster(): Cluster {
  return { id: randomBytes(16).toString('base64'), secret: randomBytes(32).toString('base64') };
}

function discoveryConfig(c: Cluster, enabled = true): DiscoveryConfigSpec {
  return {
    discoveryEnabled: enabled,
    registryKubernetesEnabled: false,
    registryServiceEnabled: enabled,
    serviceEndpoint: enabled ? server.address : '',
    serviceEndpointInsecure: true,
    serviceEncryptionKey: enabled ? c.secret : '',
    serviceClusterID: enabled ? c.id : '',
  };
}

/** A node's cluster controllers, with the inputs other controllers would produce seeded by hand. */
function startMember(c: Cluster, name: string, address: string, machineType: MachineKind, ttlMs = 60_000): ControllerSuite {
  const suite = startControllerSuite({
    controllers: [
      new LocalAffiliateController({ addresses: () => [address] }),
      new DiscoveryServiceController({ ttlMs, retryMinMs: 50, retryMaxMs: 500 }),
      new AffiliateMergeController(),
      createMemberController(),
    ],
  });
  suite.state.create(newIdentity(LocalIdentityId, { nodeId: `id-${name}` }));
  suite.state.create(newHostnameStatus({ hostname: name, domainname: '' }));
  suite.state.create(newNodename({ nodename: name, hostnameVersion: '1' }));
  suite.state.create(newMachineType({ machineType }));
  suite.state.create(newDiscoveryConfig(discoveryConfig(c)));
  return suite;
}

test('DiscoveryServiceController: two nodes of a cluster see each other as Members; a node shutting down is dropped at once', async () => {
  const c = newCluster();
  await using a = startMember(c, 'cp-1', '10.0.0.1', 'controlplane');
  const b = startMember(c, 'worker-1', '10.0.0.2', 'worker');
  try {
    const seen = await assertResources<MemberSpec>(a.state, members, { ids: ['cp-1', 'worker-1'], exact: true, timeoutMs: 10_000 });
    assert.deepEqual(seen[1]!.spec, { nodeId: 'id-worker-1', addresses: ['10.0.0.2'], hostname: 'worker-1', machineType: 'worker', operatingSystem: seen[0]!.spec.operatingSystem });
    assert.match(seen[0]!.spec.operatingSystem, /^Talos \(v/);
    const fromB = await assertResources<MemberSpec>(b.state, members, { ids: ['cp-1', 'worker-1'], exact: true, timeoutMs: 10_000 });
    assert.deepEqual(fromB[0]!.spec.controlPlane, { port: 6443 });
    assert.deepEqual(fromB[0]!.spec.addresses, ['10.0.0.1']);
    await assertResources<AffiliateSpec>(a.state, raw, { ids: ['service/id-worker-1'], exact: true });
  } finally {
    await b.stop();
  }
  // The TTL is a minute: only the delete on shutdown explains a prompt removal.
  await assertResources(a.state, members, { ids: ['cp-1'], exact: true, timeoutMs: 5000 });
  await assertResources(a.state, raw, { ids: [], exact: true });
});

test('DiscoveryServiceController: a member that stops refreshing expires after its TTL', async () => {
  const c = newCluster();
  await using a = startMember(c, 'cp-1', '10.0.0.1', 'controlplane');
  // A publisher that dies without saying goodbye, as a node losing power would.
  const ghost = new DiscoveryClient({ endpoint: server.address, clusterId: c.id, affiliateId: 'id-ghost', clusterSecret: c.secret, ttlMs: 1500 });
  ghost.setLocalData({ nodeId: 'id-ghost', hostname: 'ghost', nodename: 'ghost', machineType: 'worker', addresses: [Uint8Array.of(10, 0, 0, 9)] });
  ghost.start();
  await assertResources<MemberSpec>(a.state, members, {
    ids: ['cp-1', 'ghost'],
    timeoutMs: 10_000,
    check: (r) => assert.ok(r.metadata.id !== 'ghost' || r.spec.addresses[0] === '10.0.0.9'),
  });
  await ghost[Symbol.asyncDispose]();
  await assertResources(a.state, members, { ids: ['cp-1'], exact: true, timeoutMs: 10_000 });
});

test('DiscoveryServiceController: members of another cluster, or sealed with another secret, stay invisible', async () => {
  const c = newCluster();
  await using a = startMember(c, 'cp-1', '10.0.0.1', 'controlplane');
  await using other = startMember(newCluster(), 'stranger', '10.0.0.5', 'worker');
  const forged = new DiscoveryClient({ endpoint: server.address, clusterId: c.id, affiliateId: 'id-forged', clusterSecret: randomBytes(32), ttlMs: 60_000 });
  forged.setLocalData({ nodeId: 'id-forged', hostname: 'forged', nodename: 'forged', machineType: 'worker' });
  forged.start();
  try {
    await assertResources(other.state, members, { ids: ['stranger'], exact: true, timeoutMs: 5000 });
    await assertResources(a.state, members, { ids: ['cp-1'], exact: true, timeoutMs: 5000 });
    // Give the forged record time to arrive, then check it is still not there.
    await new Promise((r) => setTimeout(r, 500));
    await assertResources(a.state, members, { ids: ['cp-1'], exact: true, timeoutMs: 100 });
  } finally {
    await forged.deleteNow();
    await forged[Symbol.asyncDispose]();
  }
});

test('DiscoveryServiceController: turning discovery off removes the local affiliate, the remote ones and the Members', async () => {
  const c = newCluster();
  await using a = startMember(c, 'cp-1', '10.0.0.1', 'controlplane');
  await using b = startMember(c, 'worker-1', '10.0.0.2', 'worker');
  await assertResources(a.state, members, { ids: ['cp-1', 'worker-1'], exact: true, timeoutMs: 10_000 });
  a.state.modify<DiscoveryConfigSpec>({ namespace: NamespaceName.config, type: DiscoveryConfigType, id: DiscoveryConfigId }, (d) => {
    d.spec = discoveryConfig(c, false);
  });
  await assertResources(a.state, members, { ids: [], exact: true, timeoutMs: 5000 });
  await assertResources(a.state, raw, { ids: [], exact: true });
  await assertResources(a.state, { namespace: NamespaceName.cluster, type: AffiliateType }, { ids: [], exact: true });
  // And b no longer sees a: it was deleted from the service, not left to expire.
  await assertResources(b.state, members, { ids: ['worker-1'], exact: true, timeoutMs: 5000 });
});
