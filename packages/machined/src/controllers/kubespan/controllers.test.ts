import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, newResource, type LogRecord } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  IdentityType,
  KubeSpanConfigId,
  KubeSpanConfigType,
  KubeSpanEndpointType,
  KubeSpanIdentityType,
  KubeSpanLocalIdentityId,
  KubeSpanPeerSpecType,
  LocalIdentityId,
  NamespaceName,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newAffiliate,
  newIdentity,
  newKubeSpanConfig,
  newKubeSpanPeerStatus,
  newMachineConfig,
  parsePatch,
  toConfigSecrets,
  type AffiliateSpec,
  type KubeSpanConfigSpec,
  type KubeSpanEndpointSpec,
  type KubeSpanIdentitySpec,
  type KubeSpanPeerSpecSpec,
} from '@talos-ts/machinery';
import { assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { kubeSpanAddress } from './address.ts';
import { FirstHardwareAddrId, HardwareAddrType, KubeSpanEndpointController, KubeSpanIdentityController, KubeSpanPeerSpecController, createKubeSpanConfigController, kubespanControllers } from './index.ts';

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const cfgKind = { namespace: NamespaceName.config, type: KubeSpanConfigType };
const idKind = { namespace: NamespaceName.kubespan, type: KubeSpanIdentityType };
const peerKind = { namespace: NamespaceName.kubespan, type: KubeSpanPeerSpecType };
const endpointKind = { namespace: NamespaceName.kubespan, type: KubeSpanEndpointType };
const key = (n: number) => Buffer.alloc(32, n).toString('base64');

function machineConfig(patch: string): string {
  const g = generateMachineConfigs({ clusterName: 'ks', endpoint: 'https://127.0.26.1:6443', secrets: toConfigSecrets(bundle) });
  const loaded = loadConfig(g.worker.toYaml(), { filename: 'worker' });
  const p = parsePatch(patch, { name: 'patch' });
  if (loaded.error || p.error) throw loaded.error ?? p.error;
  const out = applyPatches(loaded.value, [p.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

const ksConfig = (over: Partial<KubeSpanConfigSpec> = {}): KubeSpanConfigSpec => ({
  enabled: true,
  clusterId: 'cluster-1',
  sharedSecret: 's',
  forceRouting: true,
  advertiseKubernetesNetworks: false,
  mtu: 0,
  endpointFilters: [],
  harvestExtraEndpoints: false,
  extraEndpoints: [],
  excludeAdvertisedNetworks: [],
  ...over,
});

test('kubespan.ConfigController: machine.network.kubespan and the cluster id/secret; allowDownPeerBypass turns force routing off', async () => {
  await using suite = startControllerSuite({ controllers: [createKubeSpanConfigController()] });
  const yaml = machineConfig('machine:\n  network:\n    kubespan:\n      enabled: true\n      allowDownPeerBypass: true\n      mtu: 1380\n      filters:\n        endpoints: ["0.0.0.0/0", "!10.0.0.0/8"]\n');
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml }));
  await assertResources<KubeSpanConfigSpec>(suite.state, cfgKind, {
    ids: [KubeSpanConfigId],
    check: (r) =>
      assert.deepEqual(
        r.spec,
        ksConfig({
          clusterId: bundle.cluster.id,
          sharedSecret: bundle.cluster.secret,
          forceRouting: false,
          mtu: 1380,
          endpointFilters: ['0.0.0.0/0', '!10.0.0.0/8'],
        }),
      ),
  });
});

test('kubespan.IdentityController: a key made once and kept in the state dir across restarts; address from cluster id and first MAC; gone when disabled', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ks-identity-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'kubespan-identity.yaml');
  const start = () => {
    const suite = startControllerSuite({ controllers: [new KubeSpanIdentityController({ path })] });
    suite.state.create(newKubeSpanConfig(ksConfig()));
    suite.state.create(newResource({ namespace: NamespaceName.network, type: HardwareAddrType }, FirstHardwareAddrId, { name: 'eth0', hardwareAddr: '52:54:00:12:34:56' }));
    return suite;
  };
  let first: KubeSpanIdentitySpec;
  {
    await using suite = start();
    const [r] = await assertResources<KubeSpanIdentitySpec>(suite.state, idKind, { ids: [KubeSpanLocalIdentityId] });
    first = r!.spec;
    assert.deepEqual({ address: first.address, subnet: first.subnet }, kubeSpanAddress('cluster-1', '52:54:00:12:34:56'));
    assert.match(readFileSync(path, 'utf8'), new RegExp(`privateKey: ${first.privateKey.replace(/[+/]/g, '\\$&')}`));
    suite.state.modify<KubeSpanConfigSpec>({ ...cfgKind, id: KubeSpanConfigId }, (d) => {
      d.spec = ksConfig({ enabled: false });
    });
    await assertNoResource(suite.state, { ...idKind, id: KubeSpanLocalIdentityId });
  }
  {
    await using suite = start();
    const [r] = await assertResources<KubeSpanIdentitySpec>(suite.state, idKind, { ids: [KubeSpanLocalIdentityId] });
    assert.equal(r!.spec.publicKey, first.publicKey, 'the same key after a restart');
  }
});

function affiliate(id: string, ks: Partial<NonNullable<AffiliateSpec['kubespan']>>, addresses = ['10.5.0.9']) {
  return newAffiliate(NamespaceName.cluster, id, {
    nodeId: id,
    addresses,
    hostname: id,
    nodename: id,
    operatingSystem: 'Talos',
    machineType: 'worker',
    kubespan: { publicKey: '', address: 'fd00::9', additionalAddresses: [], endpoints: [], ...ks },
  });
}

test('kubespan.PeerSpecController: other affiliates become peers; a malformed one is logged and skipped; the rest follow changes', async () => {
  const logs: LogRecord[] = [];
  const logger = createLogger({ level: 'debug', sink: (r) => void logs.push(r) });
  await using suite = startControllerSuite({ controllers: [new KubeSpanPeerSpecController()], logger });
  suite.state.create(newKubeSpanConfig(ksConfig()));
  suite.state.create(newIdentity(LocalIdentityId, { nodeId: 'me' }));
  suite.state.create(affiliate('me', { publicKey: key(1), address: 'fd00::1', endpoints: ['10.5.0.2:51820'] }, ['10.5.0.2']));
  suite.state.create(affiliate('w1', { publicKey: key(2), address: 'fd00::3', endpoints: ['10.5.0.3:51820'] }, ['10.5.0.3']));
  suite.state.create(affiliate('w2', { publicKey: 'AAAA', address: 'fd00::4', endpoints: ['10.5.0.4:51820'] }, ['10.5.0.4']));
  suite.state.create(affiliate('w3', { publicKey: key(4), address: 'fd00::5', endpoints: ['10.5.0.5:518200'] }, ['10.5.0.5']));
  await assertResources<KubeSpanPeerSpecSpec>(suite.state, peerKind, {
    ids: [key(2)],
    exact: true,
    check: (r) => assert.deepEqual(r.spec, { address: 'fd00::3', allowedIPs: ['10.5.0.3/32', 'fd00::3/128'], endpoints: ['10.5.0.3:51820'], label: 'w1' }),
  });
  const warned = logs.filter((l) => l.level === 'warn' && l.msg.includes('malformed')).map((l) => l['affiliate']);
  assert.deepEqual(warned.sort(), ['w2', 'w3']);
  // A fixed key brings the peer in; a departed affiliate takes its peer away.
  suite.state.destroy({ namespace: NamespaceName.cluster, type: 'Affiliates.cluster.talos.dev', id: 'w2' });
  suite.state.create(affiliate('w2', { publicKey: key(3), address: 'fd00::4', endpoints: ['10.5.0.4:51820'] }, ['10.5.0.4']));
  suite.state.destroy({ namespace: NamespaceName.cluster, type: 'Affiliates.cluster.talos.dev', id: 'w1' });
  await assertResources(suite.state, peerKind, { ids: [key(3)], exact: true });
  // Disabled: no peers.
  suite.state.modify<KubeSpanConfigSpec>({ ...cfgKind, id: KubeSpanConfigId }, (d) => {
    d.spec = ksConfig({ enabled: false });
  });
  await assertResources(suite.state, peerKind, { ids: [], exact: true });
});

test('kubespan.EndpointController: endpoints of peers that are up are published with the affiliate id when harvesting', async () => {
  await using suite = startControllerSuite({ controllers: [new KubeSpanEndpointController()] });
  suite.state.create(newKubeSpanConfig(ksConfig({ harvestExtraEndpoints: true })));
  suite.state.create(affiliate('w1', { publicKey: key(2) }));
  suite.state.create(affiliate('w2', { publicKey: key(3) }));
  const status = (state: 'up' | 'down', endpoint: string) => ({
    endpoint,
    label: '',
    state,
    receiveBytes: 0,
    transmitBytes: 0,
    lastHandshakeTime: '0001-01-01T00:00:00Z',
    lastUsedEndpoint: endpoint,
    lastEndpointChange: '0001-01-01T00:00:00Z',
  });
  suite.state.create(newKubeSpanPeerStatus(key(2), status('up', '10.5.0.3:51820')));
  suite.state.create(newKubeSpanPeerStatus(key(3), status('down', '10.5.0.4:51820')));
  suite.state.create(newKubeSpanPeerStatus(key(9), status('up', '10.5.0.9:51820')));
  await assertResources<KubeSpanEndpointSpec>(suite.state, endpointKind, {
    ids: [key(2)],
    exact: true,
    check: (r) => assert.deepEqual(r.spec, { affiliateID: 'w1', endpoint: '10.5.0.3:51820' }),
  });
  suite.state.modify<KubeSpanConfigSpec>({ ...cfgKind, id: KubeSpanConfigId }, (d) => {
    d.spec = ksConfig({ harvestExtraEndpoints: false });
  });
  await assertResources(suite.state, endpointKind, { ids: [], exact: true });
});

test('kubespanControllers: config, identity, peer specs and endpoints, each with its upstream name', () => {
  assert.deepEqual(
    kubespanControllers({ stateDir: '/nonexistent' }).map((c) => c.name),
    ['kubespan.ConfigController', 'kubespan.IdentityController', 'kubespan.PeerSpecController', 'kubespan.EndpointController'],
  );
  assert.equal(IdentityType, 'Identities.cluster.talos.dev');
});
