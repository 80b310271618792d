import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  EtcdCertificatesId,
  EtcdCertificatesType,
  NamespaceName,
  generateMachineConfigs,
  generateSecretsBundle,
  newHostnameStatus,
  newNodeAddress,
  NodeAddressId,
  newMachineConfig,
  ActiveMachineConfigId,
  parseCertificate,
  toConfigSecrets,
  type EtcdCertificatesSpec,
} from '@talos-ts/machinery';
import { FakeClock, assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { EtcdCertificatesController } from './etcd-certificates.ts';

const kind = { namespace: NamespaceName.secrets, type: EtcdCertificatesType };

async function configs(): Promise<{ controlplane: string; worker: string; caPem: string }> {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'unit', endpoint: 'https://127.0.0.90:6443', secrets: toConfigSecrets(bundle) });
  return { controlplane: g.controlplane.toYaml(), worker: g.worker.toYaml(), caPem: bundle.certs.etcd.crt };
}

test('EtcdCertificatesController: a control plane gets certificates from cluster.etcd.ca, renewed at half-life', async () => {
  const { controlplane, caPem } = await configs();
  const clock = new FakeClock();
  await using suite = startControllerSuite({ controllers: [new EtcdCertificatesController({ addresses: ['127.0.0.90'], lifetimeMs: 3600_000 })], clock });
  suite.state.create(newHostnameStatus({ hostname: 'cp-a', domainname: '' }));
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: controlplane }));
  const [first] = await assertResources<EtcdCertificatesSpec>(suite.state, kind, {
    ids: [EtcdCertificatesId],
    check: (r) => {
      assert.equal(r.spec.ca, caPem);
      assert.ok(r.spec.sans.includes('127.0.0.90') && r.spec.sans.includes('cp-a') && r.spec.sans.includes('localhost'));
    },
  });
  assert.ok(first);
  const server = parseCertificate(first.spec.server.crt);
  assert.ok(server.ipAddresses.includes('127.0.0.90'));

  clock.advance(1800_000 + 1);
  await assertResources<EtcdCertificatesSpec>(suite.state, kind, {
    ids: [EtcdCertificatesId],
    check: (r) => assert.notEqual(r.spec.server.crt, first.spec.server.crt, 'reissued after half of the lifetime'),
  });

  // A hostname change changes the SANs and reissues at once.
  suite.state.modify({ namespace: NamespaceName.network, type: 'HostnameStatuses.net.talos.dev', id: 'hostname' }, (d) => {
    (d as { spec: { hostname: string } }).spec.hostname = 'cp-b';
  });
  await assertResources<EtcdCertificatesSpec>(suite.state, kind, { ids: [EtcdCertificatesId], check: (r) => assert.ok(r.spec.sans.includes('cp-b')) });
});

test('EtcdCertificatesController: a worker (no etcd CA) has no etcd certificates', async () => {
  const { worker } = await configs();
  await using suite = startControllerSuite({ controllers: [new EtcdCertificatesController({ addresses: ['127.0.0.91'] })] });
  suite.state.create(newHostnameStatus({ hostname: 'w', domainname: '' }));
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: worker }));
  await new Promise((r) => setTimeout(r, 300));
  await assertNoResource(suite.state, { ...kind, id: EtcdCertificatesId });
  assert.equal(suite.state.list(kind).length, 0);
});

test('EtcdCertificatesController: the addresses NodeAddress finds join the SANs and reissue the certificates', async () => {
  const { controlplane } = await configs();
  await using suite = startControllerSuite({ controllers: [new EtcdCertificatesController({ addresses: ['127.0.0.92'] })] });
  suite.state.create(newHostnameStatus({ hostname: 'cp-n', domainname: '' }));
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: controlplane }));
  await assertResources<EtcdCertificatesSpec>(suite.state, kind, { ids: [EtcdCertificatesId], check: (r) => assert.ok(!r.spec.sans.includes('10.23.9.2')) });
  suite.state.create(newNodeAddress(NodeAddressId.accumulative, { addresses: ['10.23.9.2/24', '2001:db8::9/64'], sortAlgorithm: 'v1' }));
  const [r] = await assertResources<EtcdCertificatesSpec>(suite.state, kind, {
    ids: [EtcdCertificatesId],
    check: (x) => assert.ok(x.spec.sans.includes('10.23.9.2') && x.spec.sans.includes('2001:db8::9') && x.spec.sans.includes('127.0.0.92'), x.spec.sans.join(',')),
  });
  assert.ok(r && parseCertificate(r.spec.server.crt).ipAddresses.includes('10.23.9.2'));
});
