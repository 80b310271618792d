import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import {
  cosiStatePb,
  issueTestPki,
  machinePb,
  newTalosconfig,
  serializeTalosconfig,
  startTestApiServer,
  testService,
  type TestApiServer,
  type TestPki,
  type TestServiceBinding,
} from '@talos-ts/machinery';
import { main } from '../main.ts';

let pkiPromise: Promise<TestPki> | undefined;
const pki = (): Promise<TestPki> => (pkiPromise ??= issueTestPki());

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out: () => out.join(''), err: () => err.join('') };
}

/** A fake node over real mTLS, plus a talosconfig pointing at it. */
async function node(services: TestServiceBinding[], opts: { nodes?: string[]; endpoints?: string[] } = {}) {
  const p = await pki();
  const server = await startTestApiServer({ tls: { crtPem: p.serverCrtPem, keyPem: p.serverKeyPem, clientCaPem: p.caPem }, services });
  const dir = mkdtempSync(join(tmpdir(), 'talosctl-node-'));
  const cfg = newTalosconfig('test', {
    endpoints: opts.endpoints ?? [server.address],
    nodes: opts.nodes ?? ['10.5.0.2'],
    caPem: p.caPem,
    crtPem: p.clientCrtPem,
    keyPem: p.clientKeyPem,
  });
  const talosconfig = join(dir, 'talosconfig');
  writeFileSync(talosconfig, serializeTalosconfig(cfg));
  const run = async (...args: string[]) => {
    const c = capture();
    const code = await main(['--talosconfig', talosconfig, ...args], c.io);
    return { code, out: c.out(), err: c.err() };
  };
  return {
    server,
    dir,
    run,
    [Symbol.asyncDispose]: async () => {
      await server[Symbol.asyncDispose]();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function nodesOf(server: TestApiServer, i = 0): string[] {
  return (server.calls[i]?.metadata.get('nodes') ?? []).flatMap((v) => String(v).split(',').map((s) => s.trim()));
}

/** The node names a one-to-many call was sent to, as apid would see them. */
function targets(ctx: { metadata: { get(k: string): unknown[] | undefined } }): string[] {
  return (ctx.metadata.get('nodes') ?? []).flatMap((v) => String(v).split(',').map((s) => s.trim()));
}

const rdYaml = (type: string, display: string, ns: string, aliases: string[], columns: [string, string][] = []) =>
  [
    `resourceType: ${type}`,
    `displayType: ${display}`,
    `defaultNamespace: ${ns}`,
    `aliases: [${aliases.join(', ')}]`,
    `allAliases: [${[type.split('.')[0]!.toLowerCase(), display.toLowerCase(), ...aliases].join(', ')}]`,
    `printColumns: [${columns.map(([n, p]) => `{name: "${n}", jsonPath: "${p}"}`).join(', ')}]`,
    '',
  ].join('\n');

const created = { seconds: 1700000000n, nanos: 0 };
const meta = (namespace: string, type: string, id: string, version: string) => ({ namespace, type, id, version, phase: 'running', owner: 'v1alpha1.ServiceController', created, updated: created });
const definitions = [
  { metadata: meta('meta', 'ResourceDefinitions.meta.cosi.dev', 'services.v1alpha1.talos.dev', '1'), spec: { yamlSpec: rdYaml('Services.v1alpha1.talos.dev', 'Service', 'runtime', ['svc'], [['Running', '{.running}'], ['Healthy', '{.healthy}']]) } },
  { metadata: meta('meta', 'ResourceDefinitions.meta.cosi.dev', 'resourcedefinitions.meta.cosi.dev', '1'), spec: { yamlSpec: rdYaml('ResourceDefinitions.meta.cosi.dev', 'ResourceDefinition', 'meta', ['rd', 'rds']) } },
  { metadata: meta('meta', 'ResourceDefinitions.meta.cosi.dev', 'namespaces.meta.cosi.dev', '1'), spec: { yamlSpec: rdYaml('Namespaces.meta.cosi.dev', 'Namespace', 'meta', ['ns']) } },
  { metadata: meta('meta', 'ResourceDefinitions.meta.cosi.dev', 'machineconfigs.config.talos.dev', '1'), spec: { yamlSpec: rdYaml('MachineConfigs.config.talos.dev', 'MachineConfig', 'config', ['mc']) } },
];
const services = [
  { metadata: meta('runtime', 'Services.v1alpha1.talos.dev', 'apid', '3'), spec: { yamlSpec: 'running: true\nhealthy: true\nunknown: false\n' } },
  { metadata: meta('runtime', 'Services.v1alpha1.talos.dev', 'machined', '12'), spec: { yamlSpec: 'running: true\nhealthy: false\nunknown: true\n' } },
];

function stateService(extra: Partial<Parameters<typeof testService<typeof cosiStatePb.State>>[1]> = {}) {
  return testService(cosiStatePb.State, {
    list: async function* (req) {
      const pool = req.type === 'ResourceDefinitions.meta.cosi.dev' ? definitions : req.type === 'Services.v1alpha1.talos.dev' ? services : [];
      for (const r of pool) if (r.metadata.namespace === req.namespace) yield { resource: r };
    },
    ...extra,
  });
}

test('talosctl version: Server block per node from one-to-many metadata, NODE first', async () => {
  await using n = await node(
    [
      testService(machinePb.MachineService, {
        version: (_r, ctx) => ({
          messages: targets(ctx).map((h) => ({
            metadata: { hostname: h },
            version: { tag: 'v0.1.0', sha: 'abc123', built: '2024-01-01T00:00:00Z', goVersion: 'node v20.19.0', os: 'linux', arch: 'amd64' },
            features: { rbac: true },
          })),
        }),
      }),
    ],
    { nodes: ['10.5.0.2', '10.5.0.3'] },
  );
  const r = await n.run('version');
  assert.equal(r.code, 0, r.err);
  const server = r.out.slice(r.out.indexOf('Server:'));
  assert.equal(
    server,
    [
      'Server:',
      '\tNODE:        10.5.0.2',
      '\tTag:         v0.1.0',
      '\tSHA:         abc123',
      '\tBuilt:       2024-01-01T00:00:00Z',
      '\tRuntime:     node v20.19.0',
      '\tOS/Arch:     linux/amd64',
      '\tEnabled:     RBAC',
      '\tNODE:        10.5.0.3',
      '\tTag:         v0.1.0',
      '\tSHA:         abc123',
      '\tBuilt:       2024-01-01T00:00:00Z',
      '\tRuntime:     node v20.19.0',
      '\tOS/Arch:     linux/amd64',
      '\tEnabled:     RBAC',
      '',
    ].join('\n'),
  );
  assert.deepEqual(nodesOf(n.server), ['10.5.0.2', '10.5.0.3']);
});

test('talosctl version: -n overrides the context nodes; --client makes no call', async () => {
  await using n = await node([testService(machinePb.MachineService, { version: () => ({ messages: [{ metadata: { hostname: '10.9.9.9' }, version: { tag: 'x' } }] }) })]);
  const r = await n.run('-n', '10.9.9.9', 'version');
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(nodesOf(n.server), ['10.9.9.9']);
  assert.equal((await n.run('version', '--client')).code, 0);
  assert.equal(n.server.calls.length, 1);
});

test('talosctl: the first endpoint closed, the command still answers through the second', async () => {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const dead = `127.0.0.1:${(srv.address() as { port: number }).port}`;
  await new Promise<void>((r) => srv.close(() => r()));
  await using n = await node([testService(machinePb.MachineService, { memory: () => ({ messages: [{ metadata: { hostname: '10.5.0.2' }, meminfo: { memtotal: 2048n * 1024n } }] }) })]);
  const r = await n.run('-e', `${dead},${n.server.address}`, 'memory');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^NODE {7}TOTAL/);
  assert.equal(n.server.calls.length, 1);
});

test('talosctl memory: upstream columns in MiB, exact layout', async () => {
  const mi = { memtotal: 8048576n, memfree: 4000000n, memavailable: 6000000n, buffers: 100000n, cached: 2000000n, shmem: 51200n };
  await using n = await node([testService(machinePb.MachineService, { memory: (_r, ctx) => ({ messages: targets(ctx).map((h) => ({ metadata: { hostname: h }, meminfo: mi })) }) })], {
    nodes: ['10.5.0.2', '10.5.0.3'],
  });
  const r = await n.run('memory');
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    'NODE       TOTAL   USED   FREE   SHARED   BUFFERS   CACHE   AVAILABLE\n' +
      '10.5.0.2   7859    1902   3906   50       97        1953    5859\n' +
      '10.5.0.3   7859    1902   3906   50       97        1953    5859\n',
  );
  const v = await n.run('memory', '-v');
  assert.match(v.out, /^NODE: 10\.5\.0\.2\nMemTotal: 8048576 kB\nMemFree: 4000000 kB\n/);
  assert.match(v.out, /\nHugePagesTotal: 0\n/);
});

test('talosctl get: table with NODE first and the definition print columns, resolving an alias', async () => {
  await using n = await node([stateService()]);
  const r = await n.run('get', 'svc');
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    'NODE       NAMESPACE   TYPE      ID         VERSION   RUNNING   HEALTHY\n' +
      '10.5.0.2   runtime     Service   apid       3         true      true\n' +
      '10.5.0.2   runtime     Service   machined   12        true      false\n',
  );
  // Resource calls go one-to-one (`node`), as COSI state is not fanned out by apid.
  assert.deepEqual(n.server.calls.map((c) => c.metadata.get('node')), [['10.5.0.2'], ['10.5.0.2']]);
  assert.equal(n.server.calls[1]?.method.name, 'List');
  const ns = await n.run('get', 'ns');
  assert.equal(ns.code, 0, ns.err);
  assert.equal(ns.out, 'NODE   NAMESPACE   TYPE   ID   VERSION\n');
  const rd = await n.run('get', 'rd');
  assert.equal(rd.code, 0, rd.err);
  assert.equal(
    rd.out.split('\n').slice(0, 2).join('\n'),
    'NODE       NAMESPACE   TYPE                 ID                                  VERSION\n' +
      '10.5.0.2   meta        ResourceDefinition   services.v1alpha1.talos.dev         1',
  );
  assert.equal(rd.out.split('\n').length - 2, 4);
});

test('talosctl get -o yaml / json: node, metadata and spec as upstream prints them', async () => {
  await using n = await node([
    stateService({ get: (req) => ({ resource: services.find((s) => s.metadata.id === req.id) }) }),
  ]);
  const y = await n.run('get', 'services', 'apid', '-o', 'yaml');
  assert.equal(y.code, 0, y.err);
  assert.equal(
    y.out,
    [
      'node: 10.5.0.2',
      'metadata:',
      '    namespace: runtime',
      '    type: Services.v1alpha1.talos.dev',
      '    id: apid',
      '    version: 3',
      '    owner: v1alpha1.ServiceController',
      '    phase: running',
      '    created: 2023-11-14T22:13:20Z',
      '    updated: 2023-11-14T22:13:20Z',
      'spec:',
      '    running: true',
      '    healthy: true',
      '    unknown: false',
      '',
    ].join('\n'),
  );
  const j = await n.run('get', 'svc', '-o', 'json');
  const docs = j.out.trim().split(/\n(?=\{)/).map((d) => JSON.parse(d) as Record<string, unknown>);
  assert.equal(docs.length, 2);
  assert.deepEqual(Object.keys(docs[0]!), ['metadata', 'node', 'spec']);
  assert.equal(docs[1]?.['node'], '10.5.0.2');
  assert.deepEqual(docs[1]?.['spec'], { healthy: false, running: true, unknown: true });
  assert.match(j.out, /^\{\n {4}"metadata": \{\n {8}"created"/);
  const jp = await n.run('get', 'svc', '-o', 'jsonpath={.metadata.id}={.spec.healthy}');
  assert.equal(jp.out, 'apid=true\nmachined=false\n');
});

test('talosctl get -w: + created, space updated, - destroyed in the event column', async () => {
  const ev = (t: cosiStatePb.EventType, r: (typeof services)[number], version?: string) => ({
    event: [{ eventType: t, resource: version ? { ...r, metadata: { ...r.metadata, version } } : r }],
  });
  await using n = await node([
    stateService({
      watch: async function* (req) {
        assert.equal(req.options?.bootstrapContents, true);
        yield ev(cosiStatePb.EventType.CREATED, services[0]!);
        yield { event: [{ eventType: cosiStatePb.EventType.BOOTSTRAPPED }] };
        yield ev(cosiStatePb.EventType.UPDATED, services[0]!, '4');
        yield ev(cosiStatePb.EventType.DESTROYED, services[1]!);
      },
    }),
  ]);
  const r = await n.run('get', 'svc', '--watch');
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    'NODE       *   NAMESPACE   TYPE      ID     VERSION   RUNNING   HEALTHY\n' +
      '10.5.0.2   +   runtime     Service   apid   3         true      true\n' +
      '10.5.0.2       runtime   Service   apid   4   true   true\n' +
      '10.5.0.2   -   runtime   Service   machined   12   true   false\n',
  );
  const y = await n.run('get', 'svc', '-w', '-o', 'yaml');
  assert.match(y.out, /^node: 10\.5\.0\.2\nevent: created\nmetadata:/);
  assert.match(y.out, /---\nnode: 10\.5\.0\.2\nevent: destroyed\n/);
});

test('talosctl get: an unknown type and a server error are one line naming the node', async () => {
  await using n = await node([stateService({ get: () => Promise.reject(new Error('permission denied: sensitive resource')) })]);
  const r = await n.run('get', 'nosuchthing');
  assert.equal(r.code, 1);
  assert.equal(r.err, 'error: 10.5.0.2: resource type "nosuchthing" is not registered\n');
  const g = await n.run('get', 'mc', 'v1alpha1');
  assert.equal(g.err, 'error: 10.5.0.2: permission denied: sensitive resource\n');
});

test('talosctl services / service: list layout, detail view with events, start response', async () => {
  // Stamped when the node answers, not when the test starts (set-up may take seconds on a loaded
  // machine), and half a second into the second so the client's own clock reading cannot tip it over.
  const ago = (ms: number) => {
    const atMs = Date.now() - ms - 400;
    return { seconds: BigInt(Math.floor(atMs / 1000)), nanos: (atMs % 1000) * 1_000_000 };
  };
  const svc = (id: string, state: string) => ({
    id,
    state,
    health: { unknown: id === 'etcd', healthy: true, lastMessage: id === 'apid' ? 'all good' : '' },
    events: {
      events: [
        { msg: 'Starting service', state: 'Starting', ts: ago(125_000) },
        { msg: 'Health check successful', state: 'Running', ts: ago(5_000) },
      ],
    },
  });
  await using n = await node([
    testService(machinePb.MachineService, {
      serviceList: (_r, ctx) => ({ messages: targets(ctx).map((h) => ({ metadata: { hostname: h }, services: [svc('apid', 'Running'), svc('etcd', 'Preparing')] })) }),
      serviceStart: (req, ctx) => ({ messages: targets(ctx).map((h) => ({ metadata: { hostname: h }, resp: `Service "${req.id}" started` })) }),
    }),
  ]);
  const l = await n.run('services');
  assert.equal(l.code, 0, l.err);
  assert.equal(
    l.out,
    'NODE       SERVICE   STATE       HEALTH   LAST CHANGE   LAST EVENT\n' +
      '10.5.0.2   apid      Running     OK       5s ago        Health check successful\n' +
      '10.5.0.2   etcd      Preparing   ?        5s ago        Health check successful\n',
  );
  const d = await n.run('service', 'apid');
  assert.equal(
    d.out,
    'NODE                  10.5.0.2\n' +
      'ID                    apid\n' +
      'STATE                 Running\n' +
      'HEALTH                OK\n' +
      'LAST HEALTH MESSAGE   all good\n' +
      'EVENTS                [Running]: Health check successful (5s ago)\n' +
      '                      [Starting]: Starting service (2m5s ago)\n',
  );
  const s = await n.run('service', 'kubelet', 'start');
  assert.equal(s.out, 'NODE       RESPONSE\n10.5.0.2   Service "kubelet" started\n');
  const missing = await n.run('service', 'nope');
  assert.equal(missing.err, 'error: service "nope" is not registered on any nodes\n');
});

test('talosctl services: a node failing inside a one-to-many reply is one error line, others still print', async () => {
  await using n = await node(
    [
      testService(machinePb.MachineService, {
        serviceList: () => ({
          messages: [
            { metadata: { hostname: '10.5.0.2' }, services: [{ id: 'apid', state: 'Running', health: { unknown: true }, events: { events: [] } }] },
            { metadata: { hostname: '10.5.0.3', error: 'rpc error: connection refused' } },
          ],
        }),
      }),
    ],
    { nodes: ['10.5.0.2', '10.5.0.3'] },
  );
  const r = await n.run('services');
  assert.equal(r.code, 1);
  assert.equal(r.out, 'NODE       SERVICE   STATE     HEALTH   LAST CHANGE   LAST EVENT\n10.5.0.2   apid      Running   ?         ago          <none>\n');
  assert.equal(r.err, 'error: 10.5.0.3: rpc error: connection refused\n');
});

test('talosctl logs: chunks are split into lines prefixed with the node; request carries follow and tail', async () => {
  await using n = await node([
    testService(machinePb.MachineService, {
      logs: async function* () {
        yield { metadata: { hostname: '10.5.0.2' }, bytes: Buffer.from('first line\nsecond ') };
        yield { metadata: { hostname: '10.5.0.2' }, bytes: Buffer.from('half\nthird\n') };
      },
    }),
  ]);
  const r = await n.run('logs', 'apid', '--tail', '3', '-f');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, '10.5.0.2: first line\n10.5.0.2: second half\n10.5.0.2: third\n');
  assert.equal(n.server.calls[0]?.method.name, 'Logs');
});

test('talosctl events: sequence and service events in upstream columns; --tail and --since reach the request', async () => {
  const any = <T extends Parameters<typeof create>[0]>(schema: T, value: Record<string, unknown>) => ({
    typeUrl: `talos/runtime/${schema.typeName}`,
    value: toBinary(schema, create(schema, value as never)),
  });
  const seen: machinePb.EventsRequest[] = [];
  await using n = await node([
    testService(machinePb.MachineService, {
      events: async function* (req) {
        seen.push(req);
        yield { metadata: { hostname: '10.5.0.2' }, id: 'ev1', data: any(machinePb.SequenceEventSchema, { sequence: 'boot', action: machinePb.SequenceEvent_Action.START }) };
        yield { metadata: { hostname: '10.5.0.2' }, id: 'ev2', data: any(machinePb.ServiceStateEventSchema, { service: 'apid', action: machinePb.ServiceStateEvent_Action.RUNNING, message: 'Health check successful' }) };
      },
    }),
  ]);
  const r = await n.run('events', '--tail', '5', '--since', 'ev0');
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    'NODE       ID    EVENT                                 SOURCE   MESSAGE\n' +
      '10.5.0.2   ev1   talos/runtime/machine.SequenceEvent   boot     START\n' +
      '10.5.0.2   ev2   talos/runtime/machine.ServiceStateEvent   apid   RUNNING: Health check successful\n',
  );
  assert.equal(seen[0]?.tailEvents, 5);
  assert.equal(seen[0]?.tailId, 'ev0');
});

const machineConfig = 'version: v1alpha1\nmachine:\n    type: worker\n    token: abc123.0123456789abcdef\ncluster:\n    controlPlane:\n        endpoint: https://10.5.0.1:6443\n    clusterName: test\n';

function applyRecorder(received: machinePb.ApplyConfigurationRequest[]) {
  return testService(machinePb.MachineService, {
    applyConfiguration: (req, ctx) => {
      received.push(req);
      return {
        messages: (targets(ctx).length > 0 ? targets(ctx) : ['']).map((h) => ({
          metadata: { hostname: h },
          mode: req.mode,
          warnings: ['config has a deprecated field'],
          modeDetails: 'Applied configuration without a reboot',
        })),
      };
    },
  });
}

test('talosctl apply-config: file, mode, dry-run and patches land in the request', async () => {
  const received: machinePb.ApplyConfigurationRequest[] = [];
  await using n = await node([applyRecorder(received)]);
  const file = join(n.dir, 'worker.yaml');
  writeFileSync(file, machineConfig);
  const r = await n.run('apply-config', '-f', file, '--mode', 'no-reboot', '--dry-run', '--config-patch', '{"machine":{"type":"controlplane"}}');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'Applied configuration without a reboot\n');
  assert.equal(r.err, 'WARNING: config has a deprecated field\n');
  assert.equal(received[0]?.mode, machinePb.ApplyConfigurationRequest_Mode.NO_REBOOT);
  assert.equal(received[0]?.dryRun, true);
  assert.match(Buffer.from(received[0]!.data).toString(), /type: controlplane/);
  assert.deepEqual(nodesOf(n.server), ['10.5.0.2']);
  const t = await n.run('apply-config', '-f', file, '-m', 'try', '--timeout', '2m');
  assert.equal(t.code, 0, t.err);
  assert.equal(received[1]?.mode, machinePb.ApplyConfigurationRequest_Mode.TRY);
  assert.equal(received[1]?.tryModeTimeout?.seconds, 120n);
  assert.equal(Buffer.from(received[1]!.data).toString(), machineConfig);
  const bad = await n.run('apply-config', '-f', file, '-m', 'sometimes');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /possible options are: auto, no-reboot, reboot, staged, try/);
});

test('talosctl apply-config --insecure: TLS without a client certificate, endpoints are the -n nodes, no node metadata', async () => {
  const other = await issueTestPki();
  const received: machinePb.ApplyConfigurationRequest[] = [];
  await using maint = await startTestApiServer({ tls: { crtPem: other.serverCrtPem, keyPem: other.serverKeyPem }, services: [applyRecorder(received)] });
  const dir = mkdtempSync(join(tmpdir(), 'talosctl-maint-'));
  try {
    const file = join(dir, 'cp.yaml');
    writeFileSync(file, machineConfig);
    const c = capture();
    // No talosconfig at all: maintenance mode needs none.
    const code = await main(['--talosconfig', join(dir, 'missing'), '-n', maint.address, 'apply-config', '--insecure', '-f', file], c.io);
    assert.equal(code, 0, c.err());
    assert.equal(received.length, 1);
    assert.equal(received[0]?.mode, machinePb.ApplyConfigurationRequest_Mode.AUTO);
    assert.equal(maint.calls[0]?.peerCertificate, undefined);
    assert.deepEqual(maint.calls[0]?.metadata.get('nodes') ?? [], []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function configNode(received: machinePb.ApplyConfigurationRequest[]) {
  return [
    stateService({
      get: (req) => {
        assert.deepEqual([req.namespace, req.type, req.id], ['config', 'MachineConfigs.config.talos.dev', 'v1alpha1']);
        return { resource: { metadata: meta('config', 'MachineConfigs.config.talos.dev', 'v1alpha1', '2'), spec: { yamlSpec: machineConfig } } };
      },
    }),
    applyRecorder(received),
  ];
}

test('talosctl edit machineconfig: a real $EDITOR script edits the file and the result is applied', async () => {
  const received: machinePb.ApplyConfigurationRequest[] = [];
  await using n = await node(configNode(received));
  const editor = join(n.dir, 'editor.sh');
  writeFileSync(editor, '#!/bin/sh\nsed -i "s/type: worker/type: controlplane/" "$1"\n');
  chmodSync(editor, 0o755);
  const saved = { EDITOR: process.env['EDITOR'], TALOS_EDITOR: process.env['TALOS_EDITOR'] };
  process.env['TALOS_EDITOR'] = editor;
  try {
    const r = await n.run('edit', 'machineconfig', '--mode', 'staged');
    assert.equal(r.code, 0, r.err);
    assert.equal(received.length, 1);
    assert.equal(received[0]?.mode, machinePb.ApplyConfigurationRequest_Mode.STAGED);
    assert.equal(Buffer.from(received[0]!.data).toString(), machineConfig.replace('type: worker', 'type: controlplane'));
    // The apply goes one-to-many to exactly the edited node; the fetch went one-to-one.
    assert.deepEqual(n.server.calls.find((c) => c.method.name === 'Get')?.metadata.get('node'), ['10.5.0.2']);
    assert.deepEqual(targets(n.server.calls.find((c) => c.method.name === 'ApplyConfiguration')!), ['10.5.0.2']);

    // An editor that changes nothing: nothing is applied.
    process.env['TALOS_EDITOR'] = 'true';
    const same = await n.run('edit', 'mc');
    assert.equal(same.code, 0, same.err);
    assert.equal(same.out, 'Apply was skipped: no changes detected.\n');
    assert.equal(received.length, 1);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
});

test('talosctl patch machineconfig: the live config is patched and applied per node', async () => {
  const received: machinePb.ApplyConfigurationRequest[] = [];
  await using n = await node(configNode(received));
  const r = await n.run('patch', 'mc', '-p', '[{"op":"replace","path":"/machine/type","value":"controlplane"}]', '--mode', 'no-reboot');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, 'patched MachineConfigs.config.talos.dev/v1alpha1 at the node 10.5.0.2\nApplied configuration without a reboot\n');
  assert.match(Buffer.from(received[0]!.data).toString(), /type: controlplane/);
  assert.equal(received[0]?.mode, machinePb.ApplyConfigurationRequest_Mode.NO_REBOOT);
});

test('talosctl reboot / shutdown / reset: request fields and per-node errors', async () => {
  const got: Record<string, unknown> = {};
  await using n = await node([
    testService(machinePb.MachineService, {
      reboot: (req) => {
        got['reboot'] = req.mode;
        return { messages: [{ metadata: { hostname: '10.5.0.2' }, actorId: 'a1' }] };
      },
      shutdown: (req) => {
        got['shutdown'] = req.force;
        return { messages: [{ metadata: { hostname: '10.5.0.2', error: 'shutdown is locked' } }] };
      },
      reset: (req) => {
        got['reset'] = [req.graceful, req.reboot, req.systemPartitionsToWipe.map((p) => p.label)];
        return { messages: [{ metadata: { hostname: '10.5.0.2' } }] };
      },
    }),
  ]);
  assert.equal((await n.run('reboot', '--mode', 'powercycle', '--wait=false')).code, 0);
  assert.equal(got['reboot'], machinePb.RebootRequest_Mode.POWERCYCLE);
  const sd = await n.run('shutdown', '--force', '--wait=false');
  assert.equal(sd.code, 1);
  assert.equal(sd.err, 'error: 10.5.0.2: shutdown is locked\n');
  assert.equal(got['shutdown'], true);
  assert.equal((await n.run('reset', '--graceful=false', '--reboot', '--wait=false', '--system-labels-to-wipe', 'STATE,EPHEMERAL')).code, 0);
  assert.deepEqual(got['reset'], [false, true, ['STATE', 'EPHEMERAL']]);
});

test('talosctl inspect dependencies: DOT graph with controllers as boxes and edge styles', async () => {
  await using n = await node([
    testService(
      (await import('@talos-ts/machinery')).inspectPb.InspectService,
      {
        controllerRuntimeDependencies: () => ({
          messages: [
            {
              metadata: { hostname: '10.5.0.2' },
              edges: [
                { controllerName: 'v1alpha1.ServiceController', edgeType: 0, resourceNamespace: 'runtime', resourceType: 'Services.v1alpha1.talos.dev' },
                { controllerName: 'v1alpha1.ServiceController', edgeType: 2, resourceNamespace: 'config', resourceType: 'MachineConfigs.config.talos.dev', resourceId: 'v1alpha1' },
              ],
            },
          ],
        }),
      },
    ),
  ]);
  const r = await n.run('inspect', 'dependencies');
  assert.equal(r.code, 0, r.err);
  assert.equal(
    r.out,
    [
      'digraph  {',
      '\tn1[label="v1alpha1.ServiceController",shape="box"];',
      '\tn2[label="Services.v1alpha1.talos.dev",shape="note",fillcolor="azure2",style="filled"];',
      '\tn3[label="MachineConfigs.config.talos.dev",shape="note",fillcolor="azure2",style="filled"];',
      '\tn1->n2[style="bold"];',
      '\tn3->n1[label="v1alpha1",style="dotted"];',
      '}',
      '',
    ].join('\n'),
  );
});

test('talosctl: no nodes anywhere is the upstream error, before any call', async () => {
  await using n = await node([testService(machinePb.MachineService, {})], { nodes: [] });
  const r = await n.run('memory');
  assert.equal(r.code, 1);
  assert.match(r.err, /^error: nodes are not set for the command: please use `--nodes` flag/);
  assert.equal(n.server.calls.length, 0);
});

test('talosctl upgrade / rollback: request fields, the NODE ACK STARTED table, and per-node errors', async () => {
  const got: Record<string, unknown> = {};
  let rollbackError = '';
  await using n = await node([
    testService(machinePb.MachineService, {
      upgrade: (req) => {
        got['upgrade'] = [req.image, req.preserve, req.stage, req.force, req.rebootMode];
        return { messages: [{ metadata: { hostname: '10.5.0.2' }, ack: 'Upgrade request received', actorId: 'a1' }] };
      },
      rollback: () => {
        got['rollback'] = true;
        return { messages: [{ metadata: { hostname: '10.5.0.2', error: rollbackError } }] };
      },
    }),
  ]);
  const up = await n.run('upgrade', '--image', 'http://127.0.29.1/b/', '--preserve', '--force', '--reboot-mode', 'powercycle', '--wait=false');
  assert.equal(up.code, 0, up.err);
  assert.deepEqual(got['upgrade'], ['http://127.0.29.1/b/', true, false, true, machinePb.UpgradeRequest_RebootMode.POWERCYCLE]);
  assert.match(up.out, /^NODE {7}ACK {24}STARTED\n10\.5\.0\.2 {3}Upgrade request received {3}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3} \+0000 UTC\n$/);
  const badMode = await n.run('upgrade', '--image', 'x', '--reboot-mode', 'kexec', '--wait=false');
  assert.equal(badMode.code, 1);
  assert.match(badMode.err, /invalid reboot mode: "kexec"/);
  assert.equal((await n.run('rollback')).code, 0);
  assert.equal(got['rollback'], true);
  rollbackError = 'rollback: slot B holds no kernel, there is nothing to roll back to';
  const rb = await n.run('rollback');
  assert.equal(rb.code, 1);
  assert.equal(rb.err, 'error: error executing rollback: 10.5.0.2: rollback: slot B holds no kernel, there is nothing to roll back to\n');
});
