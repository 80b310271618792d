import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load.ts';
import type { MachineConfig } from './machine-config.ts';
import { fixture } from './testdata/fixtures.ts';
import { formatIssue, validateConfig, type ValidationMode } from './validate.ts';

function cfg(name: string, edit?: (text: string) => string): MachineConfig {
  const text = edit ? edit(fixture(name)) : fixture(name);
  const r = loadConfig(text, { filename: name });
  if (!r.value) throw new Error(r.error.message);
  return r.value;
}

function paths(c: MachineConfig, mode: ValidationMode = 'metal', strict = false): { errors: string[]; warnings: string[] } {
  const r = validateConfig(c, { mode, strict });
  return { errors: r.errors.map((i) => i.path), warnings: r.warnings.map((i) => i.path) };
}

test('validateConfig: fixtures are valid in every mode', () => {
  for (const name of ['controlplane.yaml', 'worker.yaml', 'multidoc.yaml']) {
    for (const mode of ['metal', 'container', 'cloud'] as const) {
      const r = validateConfig(cfg(name), { mode, strict: true });
      assert.deepEqual(r.errors, [], `${name} ${mode}`);
    }
  }
});

test('validateConfig: a worker holding CA private keys is an error per key', () => {
  const c = cfg('worker.yaml');
  const cp = cfg('controlplane.yaml').config;
  c.config.machine.ca = { ...cp.machine.ca };
  c.config.cluster!.ca = { ...cp.cluster?.ca };
  c.config.cluster!.etcd = { ca: { ...cp.cluster?.etcd?.ca } };
  assert.deepEqual(paths(c).errors, ['machine.ca.key', 'cluster.ca.key', 'cluster.etcd.ca.key']);
});

test('validateConfig: control plane endpoint must be https with a port', () => {
  const c = cfg('worker.yaml');
  c.config.cluster!.controlPlane.endpoint = 'http://10.0.0.1';
  const r = validateConfig(c, { mode: 'metal' });
  assert.deepEqual(
    r.errors.map((i) => i.message),
    ['must be an https URL, got "http://10.0.0.1"', 'must include a port, e.g. https://10.0.0.1:6443'],
  );
  c.config.cluster!.controlPlane.endpoint = 'https://[fd00::1]:6443';
  assert.deepEqual(paths(c).errors, []);
});

test('validateConfig: install disk is required on metal only', () => {
  const c = cfg('worker.yaml');
  delete c.config.machine.install;
  assert.deepEqual(paths(c, 'metal').errors, ['machine.install.disk']);
  assert.deepEqual(paths(c, 'container').errors, []);
  assert.deepEqual(paths(c, 'cloud').errors, []);
});

test('validateConfig: duplicate interfaces, bad MTU and addresses without prefix are errors', () => {
  const c = cfg('controlplane.yaml');
  const ifs = c.config.machine.network!.interfaces!;
  ifs.push({ interface: 'eth0', mtu: 100, addresses: ['10.0.0.1'] });
  ifs.push({ dhcp: true });
  assert.deepEqual(paths(c).errors, [
    'machine.network.interfaces[2].interface',
    'machine.network.interfaces[2].addresses[0]',
    'machine.network.interfaces[2].mtu',
    'machine.network.interfaces[3]',
  ]);
  const mtu = validateConfig(c, { mode: 'metal' }).errors.find((i) => i.path.endsWith('.mtu'));
  assert.equal(mtu?.message, 'must be 576..9216, got 100');
});

test('validateConfig: duplicate VLAN ids on a link are an error', () => {
  const c = cfg('controlplane.yaml');
  c.config.machine.network!.interfaces![1]!.vlans!.push({ vlanId: 42 });
  assert.deepEqual(paths(c).errors, ['machine.network.interfaces[1].vlans[1].vlanId']);
});

test('validateConfig: pod and service subnets must not overlap and must be sane', () => {
  const c = cfg('worker.yaml');
  c.config.cluster!.network!.serviceSubnets = ['10.244.128.0/20', '10.1.0.0/16'];
  c.config.cluster!.network!.podSubnets = ['10.244.0.0/16', 'fd00:10:244::/56'];
  const r = validateConfig(c, { mode: 'metal' });
  assert.deepEqual(
    r.errors.map((i) => `${i.path}: ${i.message}`),
    [
      'cluster.network.serviceSubnets[1]: more than one IPv4 subnet (also at [0])',
      'cluster.network.serviceSubnets[0]: overlaps pod subnet 10.244.0.0/16 (podSubnets[0])',
    ],
  );
  c.config.cluster!.network!.serviceSubnets = ['172.0.0.0/8'];
  assert.deepEqual(paths(c).errors, ['cluster.network.serviceSubnets[0]']);
  c.config.cluster!.network!.serviceSubnets = ['10.96.0.1/12'];
  assert.deepEqual(paths(c), { errors: [], warnings: ['cluster.network.serviceSubnets[0]'] });
  assert.deepEqual(paths(c, 'metal', true), { errors: ['cluster.network.serviceSubnets[0]'], warnings: [] });
});

test('validateConfig: control plane without CA keys or bootstrap token fails', () => {
  const c = cfg('controlplane.yaml');
  delete c.config.cluster!.ca!.key;
  delete c.config.cluster!.token;
  delete c.config.cluster!.serviceAccount;
  assert.deepEqual(paths(c).errors, ['cluster.token', 'cluster.ca', 'cluster.serviceAccount.key']);
});

test('validateConfig: deprecated fields are warnings found from the descriptor table', () => {
  const c = cfg('worker.yaml');
  c.config.machine.install!.bootloader = true;
  c.config.machine.type = 'join';
  assert.deepEqual(paths(c).warnings, ['machine.type', 'machine.install.bootloader']);
});

test('validateConfig: KubeSpan needs discovery', () => {
  const c = cfg('worker.yaml');
  c.config.machine.network = { kubespan: { enabled: true } };
  c.config.cluster!.discovery!.enabled = false;
  assert.deepEqual(paths(c).errors, ['machine.network.kubespan.enabled']);
});

test('validateConfig: an explicit KubeSpan MTU under 1280 is an error, unset (1420) is not', () => {
  const c = cfg('worker.yaml');
  c.config.machine.network = { kubespan: { enabled: true, mtu: 1279 } };
  assert.deepEqual(paths(c).errors, ['machine.network.kubespan.mtu']);
  c.config.machine.network = { kubespan: { enabled: true, mtu: 1280 } };
  assert.deepEqual(paths(c).errors, []);
  c.config.machine.network = { kubespan: { enabled: true } };
  assert.deepEqual(paths(c).errors, []);
  // Disabled KubeSpan does not use the MTU, as upstream.
  c.config.machine.network = { kubespan: { enabled: false, mtu: 100 } };
  assert.deepEqual(paths(c).errors, []);
});

test('loadConfig: KubeSpan filters must be (negated) subnets and excluded networks CIDRs', () => {
  const c = cfg('worker.yaml');
  c.config.machine.network = { kubespan: { enabled: true, filters: { endpoints: ['0.0.0.0/0', '!192.168.0.0/16'], excludeAdvertisedNetworks: ['10.0.0.0/8'] } } };
  assert.ok(loadConfig(c.toYaml(), { filename: 'w.yaml' }).value);
  c.config.machine.network = { kubespan: { enabled: true, filters: { endpoints: ['nope'] } } };
  assert.match(loadConfig(c.toYaml(), { filename: 'w.yaml' }).error?.message ?? '', /machine\.network\.kubespan\.filters\.endpoints\[0\]/);
  c.config.machine.network = { kubespan: { enabled: true, filters: { excludeAdvertisedNetworks: ['bad'] } } };
  assert.match(loadConfig(c.toYaml(), { filename: 'w.yaml' }).error?.message ?? '', /machine\.network\.kubespan\.filters\.excludeAdvertisedNetworks\[0\]/);
});

test('formatIssue: issues of a loaded file point at their line', () => {
  const c = cfg('worker.yaml', (t) => t.replace('https://192.168.1.100:6443', 'https://192.168.1.100'));
  const [issue] = validateConfig(c, { mode: 'metal' }).errors;
  assert.ok(issue);
  assert.equal(formatIssue('worker.yaml', issue), 'worker.yaml:36:19: cluster.controlPlane.endpoint: must include a port, e.g. https://192.168.1.100:6443');
});
