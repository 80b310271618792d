import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMap, isScalar, parseDocument, type Node as YamlNode } from 'yaml';
import { DEFAULT_DISCOVERY_SERVICE_ENDPOINT, DEFAULT_KUBERNETES_VERSION, generateMachineConfigs } from './generate.ts';
import { loadConfig } from './load.ts';
import { fixtureSecrets } from './testdata/fixtures.ts';
import { validateConfig } from './validate.ts';

const input = { clusterName: 'demo', endpoint: 'https://10.5.0.2:6443', secrets: fixtureSecrets() };

test('generateMachineConfigs: both configs load back and are valid in every mode', () => {
  const g = generateMachineConfigs(input);
  for (const [name, c] of Object.entries(g)) {
    const r = loadConfig(c.toYaml(), { filename: `${name}.yaml` });
    assert.ok(r.value, r.error?.message);
    assert.deepEqual(r.value.config, c.config);
    for (const mode of ['metal', 'container', 'cloud'] as const) {
      assert.deepEqual(validateConfig(r.value, { mode, strict: true }).errors, [], `${name} ${mode}`);
    }
  }
});

test('generateMachineConfigs: the worker carries CA certificates but no CA keys', () => {
  const { controlplane, worker } = generateMachineConfigs(input);
  assert.equal(worker.config.machine.type, 'worker');
  assert.equal(worker.config.machine.ca?.crt, input.secrets.os.crt);
  assert.equal(worker.config.machine.ca?.key, '');
  assert.equal(worker.config.cluster?.ca?.key, '');
  assert.equal(worker.config.cluster?.etcd, undefined);
  assert.equal(worker.config.cluster?.serviceAccount, undefined);
  assert.equal(worker.config.cluster?.aggregatorCA, undefined);
  assert.doesNotMatch(worker.toYaml(), new RegExp(input.secrets.os.key.slice(0, 40).replace(/[+/]/g, '\\$&')));
  assert.equal(controlplane.config.machine.ca?.key, input.secrets.os.key);
  assert.equal(controlplane.config.cluster?.etcd?.ca?.key, input.secrets.etcd.key);
});

test('generateMachineConfigs: upstream defaults for versions, disk, networks and discovery', () => {
  const { controlplane: cp, worker } = generateMachineConfigs({ ...input, additionalSans: ['cp.example.com'] });
  const v = DEFAULT_KUBERNETES_VERSION;
  assert.equal(cp.config.machine.kubelet?.image, `ghcr.io/siderolabs/kubelet:v${v}`);
  assert.equal(cp.config.cluster?.apiServer?.image, `registry.k8s.io/kube-apiserver:v${v}`);
  assert.equal(cp.config.cluster?.scheduler?.image, `registry.k8s.io/kube-scheduler:v${v}`);
  assert.equal(cp.config.machine.install?.disk, '/dev/sda');
  assert.deepEqual(cp.config.cluster?.network, { dnsDomain: 'cluster.local', podSubnets: ['10.244.0.0/16'], serviceSubnets: ['10.96.0.0/12'] });
  assert.deepEqual(cp.config.cluster?.apiServer?.certSANs, ['10.5.0.2', 'cp.example.com']);
  assert.deepEqual(worker.config.machine.certSANs, ['cp.example.com']);
  assert.deepEqual(cp.config.cluster?.discovery, { enabled: true, registries: { kubernetes: { disabled: true }, service: {} } });
  assert.equal(DEFAULT_DISCOVERY_SERVICE_ENDPOINT, 'https://discovery.talos.dev/');
  assert.match(cp.toYaml(), /discovery\.talos\.dev/);
  assert.deepEqual(cp.config.machine.nodeLabels, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' });
  assert.equal(worker.config.machine.nodeLabels, undefined);
  const custom = generateMachineConfigs({ ...input, kubernetesVersion: 'v1.30.1', installDisk: '/dev/vda', dnsDomain: 'corp.local' });
  assert.equal(custom.worker.config.machine.kubelet?.image, 'ghcr.io/siderolabs/kubelet:v1.30.1');
  assert.equal(custom.worker.config.machine.install?.disk, '/dev/vda');
  assert.equal(custom.worker.config.cluster?.network?.dnsDomain, 'corp.local');
});

test('generateMachineConfigs: every emitted struct field carries a comment', () => {
  const { controlplane } = generateMachineConfigs(input);
  const doc = parseDocument(controlplane.toYaml());
  let fields = 0;
  const check = (node: unknown, path: string, inFreeMap: boolean): void => {
    if (!isMap(node)) return;
    node.items.forEach((pair, index) => {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      const p = `${path}.${key}`;
      // Free-form maps (labels, extraArgs) and embedded Kubernetes objects have no descriptor comments.
      const free = inFreeMap || ['nodeLabels', 'admissionControl', 'auditPolicy'].includes(key);
      if (!inFreeMap) {
        fields++;
        // The parser hangs a comment above a map's first key on the map itself.
        const commented =
          Boolean((pair.key as YamlNode).commentBefore) ||
          Boolean((pair.value as YamlNode | null)?.comment) ||
          (index === 0 && Boolean(node.commentBefore));
        assert.ok(commented, `${p} has a comment`);
      }
      check(pair.value, p, free);
    });
  };
  check(doc.contents, '', false);
  assert.ok(fields > 50, `checked ${fields} fields`);
});

test('generateMachineConfigs: a bad endpoint is an error', () => {
  assert.throws(() => generateMachineConfigs({ ...input, endpoint: 'not a url' }), /invalid cluster endpoint/);
});

test('generateMachineConfigs: cluster discovery can be turned off or pointed at a local service', () => {
  const off = generateMachineConfigs({ ...input, withClusterDiscovery: false });
  assert.equal(off.controlplane.config.cluster?.discovery?.enabled, false);
  assert.equal(off.worker.config.cluster?.discovery?.enabled, false);
  const local = generateMachineConfigs({ ...input, discoveryEndpoint: 'http://10.5.0.1:3000/' });
  assert.equal(local.worker.config.cluster?.discovery?.enabled, true);
  assert.equal(local.worker.config.cluster?.discovery?.registries?.service?.endpoint, 'http://10.5.0.1:3000/');
});

test('generateMachineConfigs: withKubeSpan enables machine.network.kubespan on both roles, with discovery on', () => {
  const plain = generateMachineConfigs(input);
  assert.equal(plain.worker.config.machine.network?.kubespan, undefined);
  const ks = generateMachineConfigs({ ...input, withKubeSpan: true });
  for (const c of [ks.controlplane, ks.worker]) {
    assert.deepEqual(c.config.machine.network?.kubespan, { enabled: true });
    assert.equal(c.config.cluster?.discovery?.enabled, true);
  }
});
