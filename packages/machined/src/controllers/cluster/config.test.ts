import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ActiveMachineConfigId,
  DiscoveryConfigId,
  DiscoveryConfigType,
  NamespaceName,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newMachineConfig,
  parsePatch,
  toConfigSecrets,
  type DiscoveryConfigSpec,
} from '@talos-ts/machinery';
import { assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { createDiscoveryConfigController, serviceEndpointOf } from './config.ts';

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const kind = { namespace: NamespaceName.config, type: DiscoveryConfigType };

function config(patch?: string): { yaml: string; id: string; secret: string } {
  const g = generateMachineConfigs({ clusterName: 'disco', endpoint: 'https://127.0.0.1:6443', secrets: toConfigSecrets(bundle) });
  let cfg = g.worker;
  if (patch) {
    const loaded = loadConfig(cfg.toYaml(), { filename: 'worker' });
    const p = parsePatch(patch, { name: 'patch' });
    if (loaded.error || p.error) throw loaded.error ?? p.error;
    const out = applyPatches(loaded.value, [p.value]);
    if (out.error) throw out.error;
    cfg = out.value;
  }
  return { yaml: cfg.toYaml(), id: cfg.config.cluster?.id ?? '', secret: cfg.config.cluster?.secret ?? '' };
}

test('serviceEndpointOf: the port follows the scheme unless given; only http:// is plaintext', () => {
  assert.deepEqual(serviceEndpointOf('https://discovery.talos.dev/'), { endpoint: 'discovery.talos.dev:443', insecure: false });
  assert.deepEqual(serviceEndpointOf('http://127.0.0.1:3000/'), { endpoint: '127.0.0.1:3000', insecure: true });
  assert.deepEqual(serviceEndpointOf('http://disco.local/'), { endpoint: 'disco.local:80', insecure: true });
  assert.deepEqual(serviceEndpointOf('grpc://disco.local:9000'), { endpoint: 'disco.local:9000', insecure: false });
  assert.equal(serviceEndpointOf('not a url'), undefined);
});

test('ConfigController: generated configs use the public service with the cluster id and secret', async () => {
  await using suite = startControllerSuite({ controllers: [createDiscoveryConfigController()] });
  const c = config();
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: c.yaml }));
  await assertResources<DiscoveryConfigSpec>(suite.state, kind, {
    ids: [DiscoveryConfigId],
    check: (r) =>
      assert.deepEqual(r.spec, {
        discoveryEnabled: true,
        registryKubernetesEnabled: false,
        registryServiceEnabled: true,
        serviceEndpoint: 'discovery.talos.dev:443',
        serviceEndpointInsecure: false,
        serviceEncryptionKey: c.secret,
        serviceClusterID: c.id,
      }),
  });
});

test('ConfigController: a configured http endpoint is plaintext; disabling the registry or discovery turns the service off', async () => {
  await using suite = startControllerSuite({ controllers: [createDiscoveryConfigController()] });
  const ptr = { namespace: NamespaceName.config, type: 'MachineConfigs.config.talos.dev', id: ActiveMachineConfigId };
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: config('cluster:\n  discovery:\n    registries:\n      service:\n        endpoint: http://127.0.0.1:3000/\n').yaml }));
  await assertResources<DiscoveryConfigSpec>(suite.state, kind, {
    ids: [DiscoveryConfigId],
    check: (r) => assert.deepEqual([r.spec.serviceEndpoint, r.spec.serviceEndpointInsecure, r.spec.registryServiceEnabled], ['127.0.0.1:3000', true, true]),
  });
  const set = (yaml: string): void => {
    suite.state.modify<{ yaml: string }>(ptr, (d) => {
      d.spec = { yaml };
    });
  };
  set(config('cluster:\n  discovery:\n    registries:\n      service:\n        disabled: true\n').yaml);
  await assertResources<DiscoveryConfigSpec>(suite.state, kind, {
    ids: [DiscoveryConfigId],
    check: (r) => assert.deepEqual([r.spec.discoveryEnabled, r.spec.registryServiceEnabled, r.spec.serviceEndpoint, r.spec.serviceEncryptionKey], [true, false, '', '']),
  });
  set(config('cluster:\n  discovery:\n    enabled: false\n').yaml);
  await assertResources<DiscoveryConfigSpec>(suite.state, kind, {
    ids: [DiscoveryConfigId],
    check: (r) => assert.deepEqual([r.spec.discoveryEnabled, r.spec.registryServiceEnabled], [false, false]),
  });
  suite.state.destroy(ptr);
  await assertNoResource(suite.state, { ...kind, id: DiscoveryConfigId });
});
