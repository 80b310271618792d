import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import fc from 'fast-check';
import { loadConfig, MAX_CONFIG_SIZE_BYTES } from './load.ts';
import { fixture } from './testdata/fixtures.ts';

const brokenDir = new URL('./testdata/broken/', import.meta.url).pathname;

function load(name: string) {
  return loadConfig(fixture(name), { filename: name });
}

test('loadConfig: upstream-shaped controlplane, worker and multi-document fixtures load', () => {
  for (const name of ['controlplane.yaml', 'worker.yaml', 'multidoc.yaml']) {
    const r = load(name);
    assert.equal(r.error, undefined, r.error?.message);
  }
  const cp = load('controlplane.yaml').value;
  assert.equal(cp?.config.machine.type, 'controlplane');
  assert.equal(cp?.config.machine.network?.interfaces?.[0]?.mtu, 1500);
  assert.equal(cp?.config.machine.network?.interfaces?.[1]?.deviceSelector?.hardwareAddr, '52:54:00:*');
  assert.equal(cp?.config.machine.files?.[0]?.permissions, 0o644);
  assert.equal(cp?.config.cluster?.discovery?.registries?.kubernetes?.disabled, true);
  const md = load('multidoc.yaml').value;
  assert.deepEqual(
    md?.documents.map((d) => d.kind),
    ['KmsgLogConfig', 'WatchdogTimerConfig'],
  );
});

// Each broken config gives exactly one error line naming file, line, column and path.
const expected: Record<string, string> = {
  'alias-bomb.yaml': 'alias-bomb.yaml:7:26: machine.pods[3][7][9][2]: more than 1000 alias references',
  'bad-base64.yaml': 'bad-base64.yaml:33:9: cluster.id: invalid base64',
  'bad-cidr.yaml': 'bad-cidr.yaml:40:15: cluster.network.podSubnets[0]: invalid CIDR "10.244.0.0/33"',
  'bad-duration.yaml': 'bad-duration.yaml:17:22: machine.time.bootTimeout: invalid duration "2 minutes" (want e.g. 30s, 1h2m)',
  'bad-ip.yaml': 'bad-ip.yaml:17:15: machine.network.nameservers[0]: invalid IP address "1.1.1.300"',
  'bad-pem.yaml': 'bad-pem.yaml:9:14: machine.ca.key: base64 does not decode to a PEM block',
  'bad-token.yaml': 'bad-token.yaml:43:12: cluster.token: invalid token "NOT-A-TOKEN" (want [a-z0-9]{6}.[a-z0-9]{16})',
  'empty.yaml': 'empty.yaml: empty config: no documents',
  'missing-field.yaml': 'missing-field.yaml:5:5: machine.type: missing required field "type"',
  'not-a-map.yaml': 'not-a-map.yaml:1:1: a config document must be a map',
  'syntax-error.yaml':
    'syntax-error.yaml:11:5: YAML syntax error: Flow sequence in block collection must be sufficiently indented and end with a ]',
  'unknown-key.yaml': 'unknown-key.yaml:16:9: machine.network.hostnmae: unknown field "hostnmae" (did you mean "hostname"?)',
  'unknown-kind.yaml': 'unknown-kind.yaml:55:7: kind: unknown document kind "FrobnicatorConfig"',
  'wrong-type.yaml': 'wrong-type.yaml:18:20: machine.network.interfaces[0].mtu: expected an integer, got "big"',
  'wrong-version.yaml': 'wrong-version.yaml:1:10: version: expected one of "v1alpha1", got "v1alpha2"',
};

test('loadConfig: every broken config gives one error line with location and path', () => {
  const files = readdirSync(brokenDir).filter((f) => f.endsWith('.yaml')).sort();
  assert.deepEqual(files, Object.keys(expected).sort(), 'every broken fixture has an expected message');
  for (const f of files) {
    const r = loadConfig(fixture(`broken/${f}`), { filename: f });
    assert.ok(r.error, `${f} must not load`);
    assert.equal(r.error.message, expected[f]);
    assert.doesNotMatch(r.error.message, /\n/);
  }
});

test('loadConfig: a 10 MB file is refused by size before parsing', () => {
  const big = `version: v1alpha1\n# ${'x'.repeat(10 * 1024 * 1024)}\n`;
  const r = loadConfig(big, { filename: 'big.yaml' });
  assert.match(r.error?.message ?? '', new RegExp(`^big\\.yaml: config is larger than the ${MAX_CONFIG_SIZE_BYTES}-byte limit`));
});

test('loadConfig: deeply nested documents are refused with a location', () => {
  const flow = loadConfig(`version: v1alpha1\nmachine: ${'['.repeat(100_000)}`, { filename: 'flow.yaml' });
  assert.match(flow.error?.message ?? '', /^flow\.yaml:2:\d+: nesting deeper than 64 levels$/);
  const compact = loadConfig(`${'- '.repeat(500_000)}x\n`, { filename: 'compact.yaml' });
  assert.match(compact.error?.message ?? '', /^compact\.yaml:1:\d+: nesting deeper than 64 levels$/);
  // Within the pre-scan bound but deeper than the walker allows: the error names the path.
  let nested = 'x';
  for (let i = 0; i < 100; i++) nested = `{a: ${nested}}`;
  const walked = loadConfig(`version: v1alpha1\nmachine:\n    type: worker\n    token: 4ovbgh.xn2ktu7fsab7ak0r\n    pods:\n        - ${nested}\n`, {
    filename: 'deep.yaml',
  });
  assert.match(walked.error?.message ?? '', /^deep\.yaml:6:\d+: machine\.pods\[0\](\.a)+: nesting deeper than 64 levels$/);
});

test('loadConfig: unknown field far from every key names no suggestion', () => {
  const r = loadConfig('version: v1alpha1\nzzzzzzzzzz: 1\n', { filename: 'c.yaml' });
  assert.equal(r.error?.message, 'c.yaml:2:1: zzzzzzzzzz: unknown field "zzzzzzzzzz"');
});

test('loadConfig: map keys like __proto__ stay plain data', () => {
  const r = loadConfig(fixture('worker.yaml').replace('    network: {}\n', '    nodeLabels:\n        __proto__: polluted\n    network: {}\n'), { filename: 'w.yaml' });
  assert.equal(r.error, undefined);
  assert.equal(Object.getPrototypeOf(r.value?.config.machine.nodeLabels), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(r.value?.config.machine.nodeLabels, '__proto__')?.value, 'polluted');
});

test('loadConfig: yes/no booleans and numeric strings load as upstream reads them', () => {
  const text = fixture('worker.yaml').replace('debug: false', 'debug: yes').replace('    network: {}\n', '    network:\n        hostname: 1234\n');
  const r = loadConfig(text, { filename: 'w.yaml' });
  assert.equal(r.value?.config.debug, true);
  assert.equal(r.value?.config.machine.network?.hostname, '1234');
  // Saving keeps the user's spelling because the typed value did not change.
  assert.match(r.value?.toYaml() ?? '', /debug: yes/);
});

test('MachineConfig.toYaml: load, save, load is identity and comments survive', () => {
  for (const name of ['controlplane.yaml', 'worker.yaml', 'multidoc.yaml']) {
    const first = load(name).value;
    assert.ok(first);
    const saved = first.toYaml();
    const second = loadConfig(saved, { filename: name }).value;
    assert.ok(second);
    assert.deepEqual(second.config, first.config);
    assert.deepEqual(second.documents, first.documents);
    for (const line of fixture(name).split('\n').filter((l) => l.includes('#'))) {
      assert.ok(saved.includes(line.trim()), `comment line kept: ${line}`);
    }
  }
});

test('MachineConfig.toYaml: typed edits are written and neighbouring comments stay', () => {
  const cfg = load('controlplane.yaml').value;
  assert.ok(cfg);
  const net = cfg.config.machine.network;
  assert.ok(net?.interfaces?.[0]);
  net.hostname = 'cp-9';
  net.interfaces[0].mtu = 9000;
  net.interfaces.push({ interface: 'eth9', dhcp: true });
  delete cfg.config.machine.time;
  cfg.config.cluster!.clusterName = 'renamed';
  const text = cfg.toYaml();
  assert.match(text, /# Network settings; eth0 gets a static address/);
  assert.match(text, /version: v1alpha1 # Schema of this document\./);
  const again = loadConfig(text, { filename: 'x.yaml' }).value;
  assert.equal(again?.config.machine.network?.hostname, 'cp-9');
  assert.equal(again?.config.machine.network?.interfaces?.[0]?.mtu, 9000);
  assert.equal(again?.config.machine.network?.interfaces?.[2]?.interface, 'eth9');
  assert.equal(again?.config.machine.time, undefined);
  assert.equal(again?.config.cluster?.clusterName, 'renamed');
});

test('MachineConfig.locate: maps a path to its line in the loaded file', () => {
  const cfg = load('controlplane.yaml').value;
  const text = fixture('controlplane.yaml').split('\n');
  const pos = cfg?.locate('machine.network.interfaces[0].mtu');
  assert.ok(pos);
  assert.match(text[pos.line - 1] ?? '', /mtu: 1500/);
});

test('loadConfig: arbitrary text never throws, only returns an error', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 400 }), (s) => {
      const r = loadConfig(s, { filename: 'f.yaml' });
      assert.ok(r.value !== undefined || r.error !== undefined);
      if (r.error) assert.doesNotMatch(r.error.message, /\n/);
    }),
    { numRuns: 300 },
  );
});

test('loadConfig: YAML-ish text built from config tokens never throws', () => {
  const token = fc.constantFrom('version: v1alpha1\n', 'machine:\n', '  type: worker\n', '  - ', '[', ']', '{', '}', '&a ', '*a ', ': ', '---\n', '# c\n', '"', "'", '  network:\n', '    mtu: 1\n', 'kind: X\n', '\t', '? ', '!!binary ', '|\n', '>-\n');
  fc.assert(
    fc.property(fc.array(token, { maxLength: 60 }), (parts) => {
      const r = loadConfig(parts.join(''), { filename: 'f.yaml' });
      assert.ok(r.value !== undefined || r.error !== undefined);
    }),
    { numRuns: 300 },
  );
});

test('loadConfig: arbitrary JSON objects as config never throw', () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 6 }), fc.jsonValue({ maxDepth: 4 }), (machine, cluster) => {
      const text = JSON.stringify({ version: 'v1alpha1', machine, cluster });
      const r = loadConfig(text, { filename: 'f.json' });
      assert.ok(r.value !== undefined || r.error !== undefined);
    }),
    { numRuns: 300 },
  );
});

test('loadConfig: scalars in string maps load as their text, as upstream reads them', () => {
  const text = [
    'version: v1alpha1',
    'machine:',
    '  type: worker',
    '  token: 4ovbgh.xn2ktu7fsab7ak0r',
    '  kubelet:',
    '    extraArgs:',
    '      rotate-server-certificates: true',
    '  sysctls:',
    '    net.core.somaxconn: 65535',
    '  certSANs:',
    '  - 10.0.1.101',
    'cluster:',
    '  controlPlane:',
    '    endpoint: https://10.0.1.100:6443',
    '',
  ].join('\n');
  const r = loadConfig(text, { filename: 'user.yaml' });
  assert.equal(r.error, undefined, r.error?.message);
  assert.equal(r.value?.config.machine.kubelet?.extraArgs?.['rotate-server-certificates'], 'true');
  assert.equal(r.value?.config.machine.sysctls?.['net.core.somaxconn'], '65535');
  assert.equal(r.value?.toYaml().includes('net.core.somaxconn: 65535'), true);
});

// Every name Object.prototype answers to, so none of them can reach a descriptor lookup as a field.
const prototypeKeys = ['__proto__', ...Object.getOwnPropertyNames(Object.prototype).filter((k) => k !== '__proto__')];

test('loadConfig: Object.prototype names as config keys are unknown fields, not internal errors', () => {
  for (const key of prototypeKeys) {
    for (const [text, path, line] of [
      [`version: v1alpha1\n${key}: 1\n`, key, 2],
      [fixture('worker.yaml').replace('    network: {}\n', `    network: {}\n    ${key}:\n        a: 1\n`), `machine.${key}`, 16],
      [fixture('worker.yaml').replace('    network: {}\n', `    network:\n        ${key}: x\n`), `machine.network.${key}`, 16],
    ] as const) {
      const r = loadConfig(text, { filename: 'w.yaml' });
      assert.match(r.error?.message ?? 'loaded', new RegExp(`^w\\.yaml:${line}:\\d+: ${path.replace(/[$_]/g, '\\$&')}: unknown field "${key}"`), key);
    }
  }
  // The usual typo hint still comes with keys that are near a real field.
  assert.match(loadConfig(`version: v1alpha1\nmachine:\n  typ: worker\n`, { filename: 'w.yaml' }).error?.message ?? '', /unknown field "typ" \(did you mean "type"\?\)/);
});
