import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from './load.ts';
import type { MachineConfig } from './machine-config.ts';
import { applyPatches, parsePatch, resolvePatch, type ConfigPatch } from './patch.ts';
import { fixture } from './testdata/fixtures.ts';

function cfg(name = 'controlplane.yaml'): MachineConfig {
  const r = loadConfig(fixture(name), { filename: name });
  if (!r.value) throw new Error(r.error.message);
  return r.value;
}

function patch(text: string, name = 'p.yaml'): ConfigPatch {
  const r = parsePatch(text, { name });
  if (!r.value) throw new Error(r.error.message);
  return r.value;
}

function apply(c: MachineConfig, ...texts: string[]): MachineConfig {
  const r = applyPatches(c, texts.map((t, i) => patch(t, `p${i}.yaml`)));
  if (!r.value) throw new Error(r.error.message);
  return r.value;
}

test('strategic merge: maps merge recursively and scalars override', () => {
  const out = apply(cfg(), 'machine:\n  network:\n    hostname: cp-new\n  kubelet:\n    extraArgs:\n      rotate-server-certificates: "true"\n');
  assert.equal(out.config.machine.network?.hostname, 'cp-new');
  assert.equal(out.config.machine.network?.nameservers?.length, 2, 'siblings kept');
  assert.equal(out.config.machine.kubelet?.extraArgs?.['rotate-server-certificates'], 'true');
  assert.equal(out.config.machine.kubelet?.image, 'ghcr.io/siderolabs/kubelet:v1.31.2');
});

test('strategic merge: lists append, but podSubnets and serviceSubnets are replaced', () => {
  const out = apply(cfg(), 'machine:\n  network:\n    nameservers: [9.9.9.9]\ncluster:\n  network:\n    podSubnets: [10.32.0.0/16]\n    serviceSubnets: [10.112.0.0/12]\n');
  assert.deepEqual(out.config.machine.network?.nameservers, ['1.1.1.1', '8.8.8.8', '9.9.9.9']);
  assert.deepEqual(out.config.cluster?.network?.podSubnets, ['10.32.0.0/16']);
  assert.deepEqual(out.config.cluster?.network?.serviceSubnets, ['10.112.0.0/12']);
});

test('strategic merge: interfaces merge by interface name and by deviceSelector', () => {
  const out = apply(
    cfg(),
    [
      'machine:',
      '  network:',
      '    interfaces:',
      '      - interface: eth0',
      '        mtu: 9000',
      '        addresses: [192.168.1.11/24]',
      '      - deviceSelector:',
      '          hardwareAddr: "52:54:00:*"',
      '          driver: virtio_net',
      '        vlans:',
      '          - vlanId: 42',
      '            mtu: 1400',
      '          - vlanId: 43',
      '            dhcp: true',
      '      - interface: eth2',
      '        dhcp: true',
    ].join('\n'),
  );
  const ifs = out.config.machine.network?.interfaces ?? [];
  assert.equal(ifs.length, 3);
  assert.equal(ifs[0]?.mtu, 9000);
  assert.deepEqual(ifs[0]?.addresses, ['192.168.1.10/24', '192.168.1.11/24']);
  assert.equal(ifs[0]?.vip?.ip, '192.168.1.100', 'untouched fields of the matched interface stay');
  assert.deepEqual(
    ifs[1]?.vlans?.map((v) => [v.vlanId, v.mtu, v.dhcp]),
    [
      [42, 1400, undefined],
      [43, undefined, true],
    ],
  );
  assert.deepEqual(ifs[1]?.vlans?.[0]?.addresses, ['10.42.0.2/24']);
  assert.equal(ifs[2]?.interface, 'eth2');
});

test('strategic merge: $patch: delete removes a key and a list item', () => {
  const out = apply(
    cfg(),
    'machine:\n  time:\n    $patch: delete\n  network:\n    interfaces:\n      - interface: eth0\n        $patch: delete\ncluster:\n  apiServer:\n    admissionControl:\n      $patch: delete\n',
  );
  assert.equal(out.config.machine.time, undefined);
  assert.equal(out.config.cluster?.apiServer?.admissionControl, undefined);
  assert.deepEqual(
    out.config.machine.network?.interfaces?.map((i) => i.interface ?? 'selector'),
    ['selector'],
  );
});

test('strategic merge: auditPolicy is replaced whole', () => {
  const out = apply(cfg(), 'cluster:\n  apiServer:\n    auditPolicy:\n      apiVersion: audit.k8s.io/v1\n      kind: Policy\n      rules:\n        - level: None\n');
  assert.deepEqual(out.config.cluster?.apiServer?.auditPolicy, { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', rules: [{ level: 'None' }] });
});

test('strategic merge: other documents are matched by kind and name, added or deleted', () => {
  const c = cfg('multidoc.yaml');
  const out = apply(
    c,
    'apiVersion: v1alpha1\nkind: KmsgLogConfig\nname: remote-log\nurl: tcp://10.0.0.9:3333\n---\napiVersion: v1alpha1\nkind: KmsgLogConfig\nname: second\nurl: udp://10.0.0.8:3333\n---\napiVersion: v1alpha1\nkind: WatchdogTimerConfig\n$patch: delete\n',
  );
  assert.deepEqual(
    out.documents.map((d) => [d.kind, d['name'], d['url']]),
    [
      ['KmsgLogConfig', 'remote-log', 'tcp://10.0.0.9:3333'],
      ['KmsgLogConfig', 'second', 'udp://10.0.0.8:3333'],
    ],
  );
});

test('JSON patch: add, remove, replace, move, copy and test', () => {
  const ops = JSON.stringify([
    { op: 'test', path: '/machine/type', value: 'controlplane' },
    { op: 'add', path: '/machine/network/nameservers/-', value: '9.9.9.9' },
    { op: 'add', path: '/machine/network/nameservers/0', value: '4.4.4.4' },
    { op: 'replace', path: '/machine/network/hostname', value: 'cp-json' },
    { op: 'remove', path: '/machine/time' },
    { op: 'copy', from: '/machine/network/hostname', path: '/cluster/clusterName' },
    { op: 'move', from: '/machine/nodeLabels', path: '/machine/nodeAnnotations' },
    { op: 'add', path: '/machine/sysctls/net.ipv4.ip_forward', value: '1' },
    { op: 'add', path: '/machine/env/a~1b', value: 'slash' },
  ]);
  const out = apply(cfg(), ops);
  const m = out.config.machine;
  assert.deepEqual(m.network?.nameservers, ['4.4.4.4', '1.1.1.1', '8.8.8.8', '9.9.9.9']);
  assert.equal(m.network?.hostname, 'cp-json');
  assert.equal(m.time, undefined);
  assert.equal(out.config.cluster?.clusterName, 'cp-json');
  assert.equal(m.nodeLabels, undefined);
  assert.deepEqual(m.nodeAnnotations, { 'node.kubernetes.io/exclude-from-external-load-balancers': '' });
  assert.equal(m.sysctls?.['net.ipv4.ip_forward'], '1');
  assert.equal(m.env?.['a/b'], 'slash');
});

test('patches: a failing test op or bad path names the patch and nothing is applied', () => {
  const c = cfg();
  const before = JSON.stringify(c.config);
  const good = patch('machine:\n  network:\n    hostname: changed\n', 'good.yaml');
  const bad = patch('[{"op": "test", "path": "/machine/type", "value": "worker"}]', 'bad.json');
  const r = applyPatches(c, [good, bad]);
  assert.equal(r.error?.message, 'bad.json: [0] /machine/type: test failed: value differs');
  assert.equal(JSON.stringify(c.config), before);
  const missing = applyPatches(c, [patch('[{"op": "replace", "path": "/machine/nope/x", "value": 1}]', 'm.json')]);
  assert.equal(missing.error?.message, 'm.json: [0] /machine/nope/x: path not found (no "nope")');
});

test('patches: a patch producing an invalid config is refused with the path', () => {
  const r = applyPatches(cfg(), [patch('machine:\n  network:\n    interfaces:\n      - interface: eth0\n        mtu: big\n', 'mtu.yaml')]);
  assert.equal(r.error?.message, 'mtu.yaml: machine.network.interfaces[0].mtu: expected an integer, got "big"');
  const typo = applyPatches(cfg(), [patch('machine:\n  netwrok: {}\n', 'typo.yaml')]);
  assert.equal(typo.error?.message, 'typo.yaml: machine.netwrok: unknown field "netwrok" (did you mean "network"?)');
});

test('patches: comments of the patched config survive saving', () => {
  const out = apply(cfg(), 'machine:\n  network:\n    hostname: commented\n');
  const text = out.toYaml();
  assert.match(text, /# Network settings; eth0 gets a static address/);
  assert.match(text, /hostname: commented/);
});

test('parsePatch: YAML syntax errors carry the patch name and position', () => {
  const r = parsePatch('machine:\n  network: [\n', { name: 'broken.yaml' });
  assert.match(r.error?.message ?? '', /^broken\.yaml:\d+:\d+: YAML syntax error: /);
});

test('resolvePatch: @file reads through the given reader, inline text parses directly', async () => {
  const read = async (p: string): Promise<string> => {
    if (p === 'p.yaml') return 'machine:\n  network:\n    hostname: from-file\n';
    throw new Error(`ENOENT: ${p}`);
  };
  const fromFile = await resolvePatch('@p.yaml', { readFile: read });
  assert.equal(fromFile.value?.type, 'strategic');
  assert.equal(fromFile.value?.name, 'p.yaml');
  const missing = await resolvePatch('@nope.yaml', { readFile: read });
  assert.equal(missing.error?.message, '@nope.yaml: cannot read patch: ENOENT: nope.yaml');
  const inline = await resolvePatch('[{"op":"remove","path":"/machine/time"}]', { readFile: read });
  assert.equal(inline.value?.type, 'json6902');
});

test('patches: arbitrary patch text and values never throw, only return errors', async () => {
  const fc = (await import('fast-check')).default;
  const base = cfg('worker.yaml');
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 5 }), fc.string({ maxLength: 200 }), (value, text) => {
      for (const t of [JSON.stringify({ machine: value }), JSON.stringify(value), text]) {
        const p = parsePatch(t, { name: 'fuzz' });
        if (p.error) continue;
        const r = applyPatches(base, [p.value]);
        assert.ok(r.value !== undefined || r.error !== undefined);
      }
    }),
    { numRuns: 200 },
  );
});

test('patches: Object.prototype names as keys are unknown fields; in free-form maps they stay own data', () => {
  for (const key of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
    for (const text of [`machine:\n  ${key}: 1\n`, `machine:\n  network:\n    ${key}:\n      a: 1\n`, `- op: add\n  path: /machine/${key}\n  value: 1\n`]) {
      const r = applyPatches(cfg(), [patch(text)]);
      assert.match(r.error?.message ?? 'applied', new RegExp(`^p\\.yaml: machine\\.(network\\.)?${key.replace(/_/g, '\\_')}: unknown field "${key}"$`), text);
    }
    const merged = apply(cfg(), `machine:\n  nodeLabels:\n    ${key}: merged\n`);
    assert.equal(Object.getOwnPropertyDescriptor(merged.config.machine.nodeLabels, key)?.value, 'merged', key);
    assert.equal(Object.getPrototypeOf(merged.config.machine.nodeLabels), Object.prototype);
    const added = apply(cfg(), `- op: add\n  path: /machine/nodeLabels\n  value: {}\n- op: add\n  path: /machine/nodeLabels/${key}\n  value: added\n`);
    assert.equal(Object.getOwnPropertyDescriptor(added.config.machine.nodeLabels, key)?.value, 'added', key);
  }
});

test('patches: values that are maps with a toString key are reported, never called', () => {
  const odd = '{toString: {a: 1}, valueOf: 1}';
  for (const [text, reason] of [
    [`version: ${odd}\n`, /^p\.yaml: version: unsupported version \{"toString":\{"a":1\},"valueOf":1\}$/],
    [`machine:\n  network:\n    $patch: ${odd}\n`, /unsupported directive \{"toString"/],
    [`apiVersion: v1alpha1\nkind: KmsgLogConfig\nname: ${odd}\nurl: tcp://1.2.3.4:1\n`, /KmsgLogConfig\.name: expected a string/],
  ] as const) {
    const p = parsePatch(text, { name: 'p.yaml' });
    assert.ok(p.value, p.error?.message);
    assert.match(applyPatches(cfg(), [p.value]).error?.message ?? 'applied', reason);
  }
  assert.match(parsePatch(`- op: ${odd}\n  path: ${odd}\n`, { name: 'p.yaml' }).error?.message ?? '', /unknown op \{"toString"/);
});
