import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  ActiveMachineConfigId,
  AddressStatusType,
  LinkStatusType,
  MachineConfigType,
  NamespaceName,
  NetworkStatusType,
  NodeAddressType,
  RouteStatusType,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newMachineConfig,
  parsePatch,
  toConfigSecrets,
  type LinkStatusSpec,
  type NetworkStatusSpec,
  type NodeAddressSpec,
  type RouteStatusSpec,
} from '@talos-ts/machinery';
import { assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { openNetworkKernel } from '../../linux/rtnetlink.ts';
import { networkControllers } from './index.ts';

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const base = generateMachineConfigs({ clusterName: 'netk', endpoint: 'https://127.0.0.1:6443', secrets: toConfigSecrets(bundle) }).worker.toYaml();

function configYaml(patch: string): string {
  const loaded = loadConfig(base, { filename: 'worker' });
  const p = parsePatch(patch, { name: 'patch' });
  if (loaded.error || p.error) throw loaded.error ?? p.error;
  const out = applyPatches(loaded.value, [p.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

function tempNetns(tag: string): { name: string; path: string } & Disposable {
  const name = `tnet-${tag}-${process.pid}`;
  execFileSync('ip', ['netns', 'add', name]);
  return { name, path: `/run/netns/${name}`, [Symbol.dispose]: () => execFileSync('ip', ['netns', 'del', name]) };
}
const ipIn = (ns: string, ...args: string[]): string => execFileSync('ip', ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
/** Retries a check for up to 5 s (kernel state that the controllers restore asynchronously). */
async function eventually(check: () => void): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      check();
      return;
    } catch (err) {
      if (i >= 100) throw err;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
const net = (type: string): { namespace: string; type: string } => ({ namespace: NamespaceName.network, type });

const interfaces = (addresses: string[]): string =>
  [
    'machine:',
    '  network:',
    '    interfaces:',
    '      - interface: v0',
    '        mtu: 1400',
    `        addresses: [${addresses.join(', ')}]`,
    '        routes:',
    '          - network: 10.99.0.0/16',
    '            gateway: 10.23.5.1',
    '            metric: 50',
    '          - network: 10.98.0.0/16',
    '            gateway: 192.0.2.1',
    '      - interface: br0',
    '        bridge:',
    '          interfaces: [v1]',
    '      - interface: br1',
    '        bridge:',
    '          interfaces: [missing0]',
    '',
  ].join('\n');

test('network controllers in a netns: the config reaches the kernel, statuses follow by multicast, and removing an address from the config removes only it', async () => {
  using ns = tempNetns('ctl');
  ipIn(ns.name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  await using suite = startControllerSuite({
    controllers: networkControllers({ defaultHostname: 'talos-netns', openKernel: () => openNetworkKernel({ netnsPath: ns.path }), ownsNetwork: true }),
  });
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: configYaml(interfaces(['10.23.5.2/24', '10.23.6.2/24'])) }));
  await assertResources(suite.state, net(AddressStatusType), { ids: ['lo/127.0.0.1/8', 'v0/10.23.5.2/24', 'v0/10.23.6.2/24'] });
  await assertResources<LinkStatusSpec>(suite.state, net(LinkStatusType), {
    ids: ['v0', 'v1', 'br0', 'br1', 'lo'],
    check: (r) => {
      if (r.metadata.id === 'v0') assert.equal(r.spec.mtu, 1400);
      if (r.metadata.id === 'br0') assert.equal(r.spec.kind, 'bridge');
      if (r.metadata.id === 'v1') assert.ok(r.spec.masterIndex, 'v1 is enslaved to br0');
    },
  });
  // The unreachable gateway and the missing bridge member are reported; the rest is applied.
  await assertResources<RouteStatusSpec>(suite.state, net(RouteStatusType), {
    ids: ['inet4/10.23.5.1/10.99.0.0/16/50'],
    check: (r) => assert.deepEqual([r.spec.outLinkName, r.spec.protocol, r.spec.table], ['v0', 'static', 'main']),
  });
  assert.doesNotMatch(ipIn(ns.name, 'route'), /10\.98\.0\.0/);
  assert.match(ipIn(ns.name, 'link', 'show', 'lo'), /UP/);
  await assertResources<NodeAddressSpec>(suite.state, net(NodeAddressType), {
    ids: ['current', 'default', 'accumulative', 'routed'],
    check: (r) => {
      if (r.metadata.id === 'current') assert.deepEqual(r.spec.addresses, ['10.23.5.2/24', '10.23.6.2/24']);
      if (r.metadata.id === 'default') assert.deepEqual(r.spec.addresses, ['10.23.5.2/24']);
    },
  });
  await assertResources<NetworkStatusSpec>(suite.state, net(NetworkStatusType), {
    ids: ['status'],
    check: (r) => assert.deepEqual(r.spec, { addressReady: true, connectivityReady: false, hostnameReady: true, etcFilesReady: true }),
  });

  // An address added by someone else, which machined must leave alone.
  ipIn(ns.name, 'addr', 'add', '10.23.7.2/24', 'dev', 'v0');
  await assertResources(suite.state, net(AddressStatusType), { ids: ['v0/10.23.7.2/24'] });

  const mc = suite.state.get({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
  suite.state.update({ ...mc, spec: { yaml: configYaml(interfaces(['10.23.5.2/24'])) } });
  await assertNoResource(suite.state, { ...net(AddressStatusType), id: 'v0/10.23.6.2/24' });
  const addrs = ipIn(ns.name, 'addr', 'show', 'v0');
  assert.doesNotMatch(addrs, /10\.23\.6\.2/);
  assert.match(addrs, /10\.23\.5\.2\/24/);
  assert.match(addrs, /10\.23\.7\.2\/24/);
  assert.match(ipIn(ns.name, 'route'), /10\.99\.0\.0\/16 via 10\.23\.5\.1/);
  await assertResources<NodeAddressSpec>(suite.state, net(NodeAddressType), {
    ids: ['accumulative', 'current'],
    check: (r) => {
      if (r.metadata.id === 'accumulative') assert.deepEqual(r.spec.addresses, ['10.23.5.2/24', '10.23.6.2/24', '10.23.7.2/24']);
      if (r.metadata.id === 'current') assert.deepEqual(r.spec.addresses, ['10.23.5.2/24', '10.23.7.2/24']);
    },
  });

  // v1 leaves the bridge when the config no longer names it as a member.
  suite.state.update({
    ...suite.state.get({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId }),
    spec: { yaml: configYaml(interfaces(['10.23.5.2/24']).replace('interfaces: [v1]', 'interfaces: []')) },
  });
  await eventually(() => assert.doesNotMatch(ipIn(ns.name, 'link', 'show', 'v1'), /master br0/));

  // An address removed by hand that the config still names comes back.
  // The kernel flushes the route through it as well; both return.
  ipIn(ns.name, 'addr', 'del', '10.23.5.2/24', 'dev', 'v0');
  await eventually(() => assert.match(ipIn(ns.name, 'addr', 'show', 'v0'), /10\.23\.5\.2\/24/));
  await eventually(() => assert.match(ipIn(ns.name, 'route'), /10\.99\.0\.0\/16 via 10\.23\.5\.1/));
});

test('network controllers without ownsNetwork only observe: nothing in the netns changes', async () => {
  using ns = tempNetns('ro');
  ipIn(ns.name, 'link', 'add', 'v0', 'type', 'veth', 'peer', 'name', 'v1');
  await using suite = startControllerSuite({
    controllers: networkControllers({ defaultHostname: 'talos-ro', openKernel: () => openNetworkKernel({ netnsPath: ns.path }) }),
  });
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: configYaml(interfaces(['10.23.5.2/24'])) }));
  await assertResources(suite.state, net('AddressSpecs.net.talos.dev'), { ids: ['v0/10.23.5.2/24'] });
  await assertResources(suite.state, net(LinkStatusType), { ids: ['lo', 'v0', 'v1'], exact: true });
  // Give a writer, were there one, time to act before looking.
  await new Promise((r) => setTimeout(r, 300));
  assert.doesNotMatch(ipIn(ns.name, 'addr'), /10\.23\.5\.2/);
  assert.doesNotMatch(ipIn(ns.name, 'link'), /br0/);
});
