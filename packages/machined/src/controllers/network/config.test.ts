import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ActiveMachineConfigId,
  AddressSpecType,
  HostnameSpecType,
  LinkSpecType,
  NamespaceName,
  OperatorSpecType,
  ResolverSpecType,
  RouteSpecType,
  TimeServerSpecType,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newLinkStatus,
  newMachineConfig,
  parsePatch,
  toConfigSecrets,
  type AddressSpecSpec,
  type HostnameSpecSpec,
  type LinkSpecSpec,
  type LinkStatusSpec,
  type OperatorSpecSpec,
  type ResolverSpecSpec,
  type RouteSpecSpec,
  type TimeServerSpecSpec,
} from '@talos-ts/machinery';
import { assertResources, startControllerSuite } from '@talos-ts/testkit';
import { networkControllers } from './index.ts';

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const base = generateMachineConfigs({ clusterName: 'net', endpoint: 'https://127.0.0.1:6443', secrets: toConfigSecrets(bundle) }).worker.toYaml();

function configYaml(patch: string): string {
  const loaded = loadConfig(base, { filename: 'worker' });
  const p = parsePatch(patch, { name: 'patch' });
  if (loaded.error || p.error) throw loaded.error ?? p.error;
  const out = applyPatches(loaded.value, [p.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

const net = (type: string): { namespace: string; type: string } => ({ namespace: NamespaceName.network, type });
const raw = (type: string): { namespace: string; type: string } => ({ namespace: NamespaceName.networkConfig, type });

const ether = (index: number): LinkStatusSpec => ({
  index,
  type: 'ether',
  linkIndex: 0,
  flags: '',
  hardwareAddr: '',
  broadcastAddr: '',
  mtu: 1500,
  queueDisc: '',
  operationalState: 'up',
  kind: '',
  slaveKind: '',
  linkState: true,
});

function start(cmdline = ''): ReturnType<typeof startControllerSuite> {
  const suite = startControllerSuite({ controllers: networkControllers({ defaultHostname: 'talos-default', cmdline }) });
  suite.state.create(newLinkStatus('eth0', { ...ether(2), hardwareAddr: '52:54:00:00:00:02' }));
  suite.state.create(newLinkStatus('eth1', { ...ether(3), hardwareAddr: '52:54:00:00:00:03' }));
  return suite;
}

test('AddressConfigController: defaults give lo 127.0.0.1/8; the config layer wins over cmdline for the same address; removal from the config drops it', async () => {
  await using suite = start('ip=10.5.0.2::10.5.0.1:24::eth0');
  await assertResources<AddressSpecSpec>(suite.state, net(AddressSpecType), {
    ids: ['lo/127.0.0.1/8', 'eth0/10.5.0.2/24'],
    exact: true,
    check: (r) => assert.equal(r.spec.layer, r.spec.linkName === 'lo' ? 'default' : 'cmdline'),
  });
  const yaml = configYaml('machine:\n  network:\n    interfaces:\n      - interface: eth0\n        addresses: [10.5.0.2/24, 10.6.0.2/24]\n      - interface: eth1\n        cidr: 10.7.0.2/24\n');
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  await assertResources<AddressSpecSpec>(suite.state, net(AddressSpecType), {
    ids: ['lo/127.0.0.1/8', 'eth0/10.5.0.2/24', 'eth0/10.6.0.2/24', 'eth1/10.7.0.2/24'],
    exact: true,
    check: (r) => assert.equal(r.spec.layer, r.spec.linkName === 'lo' ? 'default' : r.metadata.id === 'eth0/10.5.0.2/24' ? 'configuration' : 'configuration'),
  });
  await assertResources(suite.state, raw(AddressSpecType), { ids: ['cmdline/eth0/10.5.0.2/24', 'configuration/eth0/10.5.0.2/24'] });
  const mc = suite.state.get({ namespace: NamespaceName.config, type: 'MachineConfigs.config.talos.dev', id: ActiveMachineConfigId });
  suite.state.update({ ...mc, spec: { yaml: configYaml('machine:\n  network:\n    interfaces:\n      - interface: eth0\n        addresses: [10.6.0.2/24]\n') } });
  // 10.5.0.2 falls back to the cmdline layer; 10.7.0.2 goes away.
  await assertResources<AddressSpecSpec>(suite.state, net(AddressSpecType), {
    ids: ['lo/127.0.0.1/8', 'eth0/10.5.0.2/24', 'eth0/10.6.0.2/24'],
    exact: true,
    check: (r) => r.metadata.id === 'eth0/10.5.0.2/24' && assert.equal(r.spec.layer, 'cmdline'),
  });
});

test('LinkConfigController + LinkMergeController: vlans, bond with members, bridge, dummy and MTU from the config; lo up by default', async () => {
  await using suite = start();
  const yaml = configYaml(
    [
      'machine:',
      '  network:',
      '    interfaces:',
      '      - interface: eth0',
      '        mtu: 9000',
      '        vlans:',
      '          - vlanId: 42',
      '            addresses: [10.42.0.2/24]',
      '      - interface: bond0',
      '        bond:',
      '          mode: active-backup',
      '          miimon: 100',
      '          interfaces: [eth1]',
      '      - interface: br0',
      '        bridge:',
      '          interfaces: [eth2]',
      '      - interface: dummy0',
      '        dummy: true',
      '',
    ].join('\n'),
  );
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  const got = await assertResources<LinkSpecSpec>(suite.state, net(LinkSpecType), { ids: ['lo', 'eth0', 'eth0.42', 'bond0', 'eth1', 'br0', 'eth2', 'dummy0'], exact: true });
  const by = new Map(got.map((r) => [r.metadata.id, r.spec]));
  assert.equal(by.get('lo')?.type, 'loopback');
  assert.equal(by.get('eth0')?.mtu, 9000);
  assert.deepEqual([by.get('eth0.42')?.kind, by.get('eth0.42')?.parentName, by.get('eth0.42')?.vlan], ['vlan', 'eth0', { vlanID: 42, vlanProtocol: '802.1q' }]);
  assert.deepEqual([by.get('bond0')?.logical, by.get('bond0')?.bondMaster], [true, { mode: 'active-backup', miimon: 100 }]);
  assert.equal(by.get('eth1')?.masterName, 'bond0');
  assert.deepEqual(by.get('eth2')?.bridgeSlave, { masterName: 'br0' });
  assert.equal(by.get('dummy0')?.kind, 'dummy');
  await assertResources<AddressSpecSpec>(suite.state, net(AddressSpecType), { ids: ['eth0.42/10.42.0.2/24'] });
});

test('RouteConfigController: the ip= gateway is a default route; config routes keep metric, source, mtu; a link route has link scope', async () => {
  await using suite = start('ip=10.5.0.2::10.5.0.1:24::eth0');
  const yaml = configYaml(
    'machine:\n  network:\n    interfaces:\n      - interface: eth1\n        routes:\n          - network: 10.9.0.0/16\n            gateway: 10.7.0.1\n            source: 10.7.0.2\n            metric: 50\n            mtu: 1400\n          - network: 10.10.0.0/16\n',
  );
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  const got = await assertResources<RouteSpecSpec>(suite.state, net(RouteSpecType), {
    ids: ['inet4/10.5.0.1//1024', 'inet4/10.7.0.1/10.9.0.0/16/50', 'inet4//10.10.0.0/16/1024'],
    exact: true,
  });
  const [def, r1, r2] = got.map((r) => r.spec);
  assert.deepEqual([def?.outLinkName, def?.layer, def?.scope], ['eth0', 'cmdline', 'global']);
  assert.deepEqual([r1?.src, r1?.priority, r1?.mtu, r1?.outLinkName, r1?.table, r1?.protocol], ['10.7.0.2', 50, 1400, 'eth1', 'main', 'static']);
  assert.equal(r2?.scope, 'link');
});

test('Resolver, TimeServer and Hostname merges: defaults, then cmdline, then the machine config', async () => {
  await using suite = start('ip=10.5.0.2::10.5.0.1:24:fromcmdline:eth0:off:10.5.0.53::10.5.0.123');
  await assertResources<ResolverSpecSpec>(suite.state, net(ResolverSpecType), { ids: ['resolvers'], check: (r) => assert.deepEqual(r.spec.dnsServers, ['10.5.0.53']) });
  await assertResources<TimeServerSpecSpec>(suite.state, net(TimeServerSpecType), { ids: ['timeservers'], check: (r) => assert.deepEqual(r.spec.timeServers, ['10.5.0.123']) });
  await assertResources<HostnameSpecSpec>(suite.state, net(HostnameSpecType), { ids: ['hostname'], check: (r) => assert.equal(r.spec.hostname, 'fromcmdline') });
  await assertResources(suite.state, raw(ResolverSpecType), { ids: ['default/resolvers', 'cmdline/resolvers'], exact: true });
  const yaml = configYaml('machine:\n  network:\n    hostname: cfg.example.org\n    nameservers: [10.9.9.9]\n    searchDomains: [example.org]\n  time:\n    servers: [ntp.example.org]\n');
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  await assertResources<ResolverSpecSpec>(suite.state, net(ResolverSpecType), {
    ids: ['resolvers'],
    check: (r) => assert.deepEqual([r.spec.dnsServers, r.spec.searchDomains, r.spec.layer], [['10.9.9.9'], ['example.org'], 'configuration']),
  });
  await assertResources<TimeServerSpecSpec>(suite.state, net(TimeServerSpecType), { ids: ['timeservers'], check: (r) => assert.deepEqual(r.spec.timeServers, ['ntp.example.org']) });
  await assertResources<HostnameSpecSpec>(suite.state, net(HostnameSpecType), { ids: ['hostname'], check: (r) => assert.deepEqual([r.spec.hostname, r.spec.domainname], ['cfg', 'example.org']) });
  await assertResources(suite.state, net('HostnameStatuses.net.talos.dev'), { ids: ['hostname'], check: (r) => assert.deepEqual(r.spec, { hostname: 'cfg', domainname: 'example.org' }) });
  await assertResources(suite.state, net('ResolverStatuses.net.talos.dev'), { ids: ['resolvers'], check: (r) => assert.deepEqual(r.spec, { dnsServers: ['10.9.9.9'], searchDomains: ['example.org'] }) });
  await assertResources(suite.state, net('TimeServerStatuses.net.talos.dev'), { ids: ['timeservers'], check: (r) => assert.deepEqual(r.spec, { timeServers: ['ntp.example.org'], useNTS: false }) });
});

test('Resolver and TimeServer defaults are upstream\'s without any other source', async () => {
  await using suite = start();
  await assertResources<ResolverSpecSpec>(suite.state, net(ResolverSpecType), { ids: ['resolvers'], check: (r) => assert.deepEqual([r.spec.dnsServers, r.spec.layer], [['1.1.1.1', '8.8.8.8'], 'default']) });
  await assertResources<TimeServerSpecSpec>(suite.state, net(TimeServerSpecType), { ids: ['timeservers'], check: (r) => assert.deepEqual(r.spec.timeServers, ['time.cloudflare.com']) });
  await assertResources<HostnameSpecSpec>(suite.state, net(HostnameSpecType), { ids: ['hostname'], check: (r) => assert.equal(r.spec.hostname, 'talos-default') });
});

test('OperatorConfigController: ip=dhcp yields a DHCPv4 operator on the first link; config dhcp, dhcpOptions.ipv6 and vip add theirs', async () => {
  await using suite = start('ip=dhcp');
  await assertResources<OperatorSpecSpec>(suite.state, net(OperatorSpecType), {
    ids: ['dhcp4/eth0'],
    exact: true,
    check: (r) => assert.deepEqual([r.spec.operator, r.spec.linkName, r.spec.layer, r.spec.dhcp4?.routeMetric], ['dhcp4', 'eth0', 'cmdline', 1024]),
  });
  const yaml = configYaml('machine:\n  network:\n    interfaces:\n      - interface: eth1\n        dhcp: true\n        dhcpOptions:\n          ipv6: true\n          routeMetric: 100\n        vip:\n          ip: 10.5.0.100\n');
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  await assertResources<OperatorSpecSpec>(suite.state, net(OperatorSpecType), {
    ids: ['dhcp4/eth0', 'dhcp4/eth1', 'dhcp6/eth1', 'vip/eth1'],
    exact: true,
    check: (r) => r.metadata.id === 'dhcp6/eth1' && assert.equal(r.spec.dhcp6?.routeMetric, 100),
  });
});

test('AddressConfigController: an interface picked by deviceSelector gets its addresses on the matching link', async () => {
  await using suite = start();
  const yaml = configYaml('machine:\n  network:\n    interfaces:\n      - deviceSelector:\n          hardwareAddr: "52:54:00:00:00:03"\n        addresses: [10.8.0.2/24]\n');
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  await assertResources<AddressSpecSpec>(suite.state, net(AddressSpecType), { ids: ['lo/127.0.0.1/8', 'eth1/10.8.0.2/24'], exact: true });
});
