import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ActiveMachineConfigId,
  EtcdSpecId,
  EtcdSpecType,
  NamespaceName,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newAddressStatus,
  newHostnameStatus,
  newLinkStatus,
  newMachineConfig,
  parsePatch,
  toConfigSecrets,
  type EtcdSpecSpec,
  type LinkStatusSpec,
} from '@talos-ts/machinery';
import { assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { NodeAddressController } from '../network/node-address.ts';
import { NodeAddressFilterController } from '../k8s/address-filter.ts';
import { createEtcdConfigController } from './config.ts';
import { EtcdSpecController, filterIps } from './spec.ts';

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const generated = generateMachineConfigs({ clusterName: 'etcdspec', endpoint: 'https://10.5.0.10:6443', secrets: toConfigSecrets(bundle) });

function controlPlane(patch?: object): string {
  if (!patch) return generated.controlplane.toYaml();
  const loaded = loadConfig(generated.controlplane.toYaml(), { filename: 'cp' });
  const p = parsePatch(JSON.stringify(patch), { name: 'patch' });
  if (loaded.error || p.error) throw loaded.error ?? p.error;
  const out = applyPatches(loaded.value, [p.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

const link = (index: number): LinkStatusSpec => ({
  index,
  type: 'ether',
  linkIndex: 0,
  flags: 'UP',
  hardwareAddr: '',
  broadcastAddr: '',
  mtu: 1500,
  queueDisc: '',
  operationalState: 'up',
  kind: '',
  slaveKind: '',
  linkState: true,
});

function address(linkName: string, linkIndex: number, cidr: string): ReturnType<typeof newAddressStatus> {
  return newAddressStatus(`${linkName}/${cidr}`, { address: cidr, linkIndex, linkName, family: cidr.includes(':') ? 'inet6' : 'inet4', scope: 'global', flags: 'permanent', priority: 0 });
}

const kind = { namespace: NamespaceName.etcd, type: EtcdSpecType };

function start(options: ConstructorParameters<typeof EtcdSpecController>[0] = {}): ReturnType<typeof startControllerSuite> {
  return startControllerSuite({ controllers: [new NodeAddressController(), new NodeAddressFilterController(), createEtcdConfigController(), new EtcdSpecController(options)] });
}

async function spec(suite: ReturnType<typeof startControllerSuite>, check: (s: EtcdSpecSpec) => void): Promise<void> {
  await assertResources<EtcdSpecSpec>(suite.state, kind, { ids: [EtcdSpecId], check: (r) => check(r.spec) });
}

test('filterIps: includes (any when none), then excludes; bare IPs are host prefixes; garbage is ignored', () => {
  const ips = ['10.5.0.2', '10.5.0.50', '192.168.1.4', 'fd00::2'];
  assert.deepEqual(filterIps(ips, []), ips);
  assert.deepEqual(filterIps(ips, ['10.0.0.0/8']), ['10.5.0.2', '10.5.0.50']);
  assert.deepEqual(filterIps(ips, ['!10.5.0.50']), ['10.5.0.2', '192.168.1.4', 'fd00::2']);
  assert.deepEqual(filterIps(ips, ['0.0.0.0/0', '::/0', '!10.0.0.0/8']), ['192.168.1.4', 'fd00::2']);
  assert.deepEqual(filterIps(ips, ['nonsense', '10.5.0.0/99', 'fd00::/8']), ['fd00::2']);
});

test('EtcdSpecController: a control plane advertises its first routed address, not the VIP nor a pod address, and listens everywhere', async () => {
  await using suite = start();
  suite.state.create(newHostnameStatus({ hostname: 'cp-1', domainname: '' }));
  suite.state.create(newLinkStatus('eth0', link(2)));
  suite.state.create(newLinkStatus('cni0', link(3)));
  // The VIP sorts first and the pod bridge's address before the node's: neither is advertised.
  suite.state.create(address('eth0', 2, '10.5.0.1/32'));
  suite.state.create(address('eth0', 2, '10.5.0.7/24'));
  suite.state.create(address('cni0', 3, '10.244.0.1/24'));
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: controlPlane({ machine: { network: { interfaces: [{ interface: 'eth0', vip: { ip: '10.5.0.1' } }] } } }) }));
  await spec(suite, (s) => {
    assert.equal(s.name, 'cp-1');
    assert.deepEqual(s.advertisedAddresses, ['10.5.0.7']);
    assert.deepEqual(s.listenPeerAddresses, ['0.0.0.0']);
    assert.deepEqual(s.listenClientAddresses, ['0.0.0.0']);
  });
  // The address changes (a new DHCP lease): the spec follows.
  suite.state.destroy({ namespace: NamespaceName.network, type: address('eth0', 2, '10.5.0.7/24').metadata.type, id: 'eth0/10.5.0.7/24' });
  suite.state.create(address('eth0', 2, '10.5.0.9/24'));
  await spec(suite, (s) => assert.deepEqual(s.advertisedAddresses, ['10.5.0.9']));
});

test('EtcdSpecController: advertisedSubnets selects every current address within them; listenSubnets adds loopback', async () => {
  await using suite = start();
  suite.state.create(newHostnameStatus({ hostname: 'cp-2', domainname: '' }));
  suite.state.create(newLinkStatus('eth0', link(2)));
  suite.state.create(newLinkStatus('eth1', link(3)));
  suite.state.create(address('eth0', 2, '10.5.0.8/24'));
  suite.state.create(address('eth1', 3, '192.168.7.8/24'));
  suite.state.create(address('eth1', 3, '192.168.7.9/24'));
  const patch = { cluster: { etcd: { advertisedSubnets: ['192.168.7.0/24', '!192.168.7.9/32'], listenSubnets: ['192.168.0.0/16'] } } };
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: controlPlane(patch) }));
  await spec(suite, (s) => {
    assert.deepEqual(s.advertisedAddresses, ['192.168.7.8']);
    assert.deepEqual(s.listenPeerAddresses, ['192.168.7.8', '192.168.7.9']);
    assert.deepEqual(s.listenClientAddresses, ['127.0.0.1', '192.168.7.8', '192.168.7.9']);
  });
});

test('EtcdSpecController: a node whose only addresses lie in the service network (10.96.0.0/12) still advertises one', async () => {
  await using suite = start();
  suite.state.create(newHostnameStatus({ hostname: 'cp-5', domainname: '' }));
  suite.state.create(newLinkStatus('eth0', link(2)));
  suite.state.create(address('eth0', 2, '10.97.0.2/24'));
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: controlPlane() }));
  await spec(suite, (s) => assert.deepEqual(s.advertisedAddresses, ['10.97.0.2']));
  // Once the node has an address outside the Kubernetes networks, that one is preferred.
  suite.state.create(address('eth0', 2, '192.168.9.2/24'));
  await spec(suite, (s) => assert.deepEqual(s.advertisedAddresses, ['192.168.9.2']));
});

test('EtcdSpecController: no spec without an address to advertise, nor on a worker', async () => {
  await using suite = start();
  suite.state.create(newHostnameStatus({ hostname: 'cp-3', domainname: '' }));
  suite.state.create(newLinkStatus('eth0', link(2)));
  suite.state.create(address('eth0', 2, '10.5.0.8/24'));
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: controlPlane({ cluster: { etcd: { advertisedSubnets: ['172.16.0.0/12'] } } }) }));
  // Give the controllers a moment: the NodeAddresses exist, yet nothing matches the subnets.
  await assertResources(suite.state, { namespace: NamespaceName.network, type: 'NodeAddresses.net.talos.dev' }, { ids: ['routed-no-k8s', 'current-no-k8s'] });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(suite.state.find({ ...kind, id: EtcdSpecId }), undefined);
  const setConfig = (yaml: string): void => {
    suite.state.modify<{ yaml: string }>(newMachineConfig(ActiveMachineConfigId, { yaml }).metadata, (d) => {
      d.spec = { yaml };
    });
  };
  setConfig(controlPlane());
  await spec(suite, (s) => assert.deepEqual(s.advertisedAddresses, ['10.5.0.8']));
  setConfig(generated.worker.toYaml());
  await assertNoResource(suite.state, { ...kind, id: EtcdSpecId });
});

test('EtcdSpecController: a node on a network it does not own advertises and listens on its given address only', async () => {
  await using suite = start({ pinnedAddress: '127.0.31.5' });
  suite.state.create(newHostnameStatus({ hostname: 'cp-4', domainname: '' }));
  // The host's own addresses are not the node's.
  suite.state.create(newLinkStatus('eth0', link(2)));
  suite.state.create(address('eth0', 2, '192.0.2.10/24'));
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: controlPlane() }));
  await spec(suite, (s) => {
    assert.deepEqual(s.advertisedAddresses, ['127.0.31.5']);
    assert.deepEqual(s.listenPeerAddresses, ['127.0.31.5']);
    assert.deepEqual(s.listenClientAddresses, ['127.0.31.5']);
  });
});
