import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { Code, hasCode } from '@talos-ts/cosi';
import { MachineService } from '../gen/machine/machine_pb.ts';
import { State } from '../gen/cosi/v1alpha1/state_pb.ts';
import { createTalosClient, normalizeEndpoint, talosClientOptionsFromContext } from './api-client.ts';
import { resolveResourceType, resourceView } from './resources.ts';
import { issueTestPki, startTestApiServer, testService, type TestPki } from './test-server.ts';
import { newTalosconfig } from './talosconfig.ts';

let pkiPromise: Promise<TestPki> | undefined;
const pki = (): Promise<TestPki> => (pkiPromise ??= issueTestPki());

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

async function versionNode(p: TestPki, tag: string) {
  return startTestApiServer({
    tls: { crtPem: p.serverCrtPem, keyPem: p.serverKeyPem, clientCaPem: p.caPem },
    services: [
      testService(MachineService, {
        version: (_req, ctx) => {
          const nodes = (ctx.metadata.get('nodes') ?? []).flatMap((v) => String(v).split(',').map((n) => n.trim()));
          return { messages: (nodes.length > 0 ? nodes : ['']).map((n) => ({ metadata: { hostname: n }, version: { tag } })) };
        },
      }),
    ],
  });
}

function clientFor(p: TestPki, endpoints: string[], nodes: string[] = []) {
  return createTalosClient({ endpoints, nodes, caPem: p.caPem, crtPem: p.clientCrtPem, keyPem: p.clientKeyPem });
}

test('normalizeEndpoint: adds the API port to bare hosts and IPv6 addresses', () => {
  assert.equal(normalizeEndpoint('10.5.0.2'), '10.5.0.2:50000');
  assert.equal(normalizeEndpoint('10.5.0.2:50123'), '10.5.0.2:50123');
  assert.equal(normalizeEndpoint('::1'), '[::1]:50000');
  assert.equal(normalizeEndpoint('[::1]:7'), '[::1]:7');
  assert.equal(normalizeEndpoint('https://node.example'), 'node.example:50000');
});

test('createTalosClient: mTLS call carries the nodes metadata one value per node', async () => {
  const p = await pki();
  await using node = await versionNode(p, 'v1.0.0');
  await using client = clientFor(p, [node.address], ['10.5.0.2', '10.5.0.3']);
  const res = await client.machine.version({});
  assert.deepEqual(
    res.messages.map((m) => [m.metadata?.hostname, m.version?.tag]),
    [
      ['10.5.0.2', 'v1.0.0'],
      ['10.5.0.3', 'v1.0.0'],
    ],
  );
  const call = node.calls[0];
  assert.deepEqual((call?.metadata.get('nodes') ?? []).flatMap((v) => String(v).split(',').map((s) => s.trim())), ['10.5.0.2', '10.5.0.3']);
  assert.deepEqual(call?.metadata.get('node') ?? [], []);
  assert.equal(call?.peerCertificate?.subject.O, 'os:admin');
});

test('createTalosClient: withNode sends one-to-one node metadata and no nodes', async () => {
  const p = await pki();
  await using node = await versionNode(p, 'v1');
  await using client = clientFor(p, [node.address], ['a', 'b']);
  await client.withNode('10.5.0.9').machine.version({});
  assert.deepEqual(node.calls[0]?.metadata.get('node'), ['10.5.0.9']);
  assert.deepEqual(node.calls[0]?.metadata.get('nodes') ?? [], []);
});

test('createTalosClient: a closed first endpoint fails over to the next one', async () => {
  const p = await pki();
  await using node = await versionNode(p, 'v2');
  const dead = `127.0.0.1:${await closedPort()}`;
  await using client = clientFor(p, [dead, node.address]);
  const res = await client.machine.version({});
  assert.equal(res.messages[0]?.version?.tag, 'v2');
  assert.equal(client.lastEndpoint, node.address);
  // Calls are spread: the next one starts at the live endpoint and still succeeds.
  await client.machine.version({});
  assert.equal(node.calls.length, 2);
});

test('createTalosClient: every endpoint down gives Unavailable after bounded attempts', async () => {
  const p = await pki();
  await using client = clientFor(p, [`127.0.0.1:${await closedPort()}`, `127.0.0.1:${await closedPort()}`]);
  await assert.rejects(client.machine.version({}), (e) => hasCode(e, Code.Unavailable));
});

test('createTalosClient: server errors keep their gRPC code and are not retried elsewhere', async () => {
  const p = await pki();
  await using a = await startTestApiServer({
    tls: { crtPem: p.serverCrtPem, keyPem: p.serverKeyPem, clientCaPem: p.caPem },
    services: [testService(MachineService, {})],
  });
  await using b = await versionNode(p, 'v3');
  await using client = clientFor(p, [a.address, b.address]);
  await assert.rejects(client.machine.version({}), (e) => hasCode(e, Code.Unimplemented));
  assert.equal(b.calls.length, 0);
});

test('createTalosClient: insecure mode talks TLS without a client certificate or server verification', async () => {
  const p = await pki();
  const other = await issueTestPki();
  // Server certificate from a CA the client never saw, and no client certificate requested.
  await using node = await startTestApiServer({
    tls: { crtPem: other.serverCrtPem, keyPem: other.serverKeyPem },
    services: [testService(MachineService, { version: () => ({ messages: [{ version: { tag: 'maint' } }] }) })],
  });
  await using client = createTalosClient({ endpoints: [node.address], insecure: true });
  assert.equal((await client.machine.version({})).messages[0]?.version?.tag, 'maint');
  assert.equal(node.calls[0]?.peerCertificate, undefined);
  // The same server refuses a verifying client: its certificate does not chain to our CA.
  await using strict = clientFor(p, [node.address]);
  await assert.rejects(strict.machine.version({}), (e) => hasCode(e, Code.Unavailable));
});

test('createTalosClient: an aborted signal cancels a server stream', async () => {
  const p = await pki();
  await using node = await startTestApiServer({
    tls: { crtPem: p.serverCrtPem, keyPem: p.serverKeyPem, clientCaPem: p.caPem },
    services: [
      testService(State, {
        watch: async function* (_req, ctx) {
          for (let i = 0; !ctx.signal.aborted; i++) {
            yield { event: [{ resource: { metadata: { id: `r${i}` } } }] };
            await new Promise((r) => setTimeout(r, 5));
          }
        },
      }),
    ],
  });
  await using client = clientFor(p, [node.address]);
  const ac = new AbortController();
  const seen: string[] = [];
  await assert.rejects(
    (async () => {
      for await (const m of client.resources.watch({ namespace: 'x', type: 'y' }, { signal: ac.signal })) {
        seen.push(m.event[0]?.resource?.metadata?.id ?? '');
        if (seen.length === 2) ac.abort();
      }
    })(),
    (e) => hasCode(e, Code.Canceled),
  );
  assert.deepEqual(seen.slice(0, 2), ['r0', 'r1']);
});

test('resolveResourceType: aliases resolve through ResourceDefinitions in YAML and full type names', async () => {
  const p = await pki();
  const rd = (type: string, yaml: string) => ({
    resource: { metadata: { namespace: 'meta', type: 'ResourceDefinitions.meta.cosi.dev', id: type.toLowerCase(), version: '1' }, spec: { yamlSpec: yaml } },
  });
  await using node = await startTestApiServer({
    tls: { crtPem: p.serverCrtPem, keyPem: p.serverKeyPem, clientCaPem: p.caPem },
    services: [
      testService(State, {
        list: async function* () {
          yield rd('Services.v1alpha1.talos.dev', 'resourceType: Services.v1alpha1.talos.dev\ndisplayType: Service\ndefaultNamespace: runtime\naliases: [svc]\nallAliases: [services, service, svc]\nprintColumns:\n  - name: Running\n    jsonPath: "{.running}"\n');
          yield rd('MachineConfigs.config.talos.dev', 'resourceType: MachineConfigs.config.talos.dev\ndisplayType: MachineConfig\ndefaultNamespace: config\naliases: []\nallAliases: [machineconfigs, machineconfig, mc]\nprintColumns: []\nsensitivity: sensitive\n');
        },
      }),
    ],
  });
  await using client = clientFor(p, [node.address]);
  const svc = await resolveResourceType(client.withNode('n1'), 'SVC');
  assert.equal(svc.type, 'Services.v1alpha1.talos.dev');
  assert.deepEqual(svc.printColumns, [{ name: 'Running', jsonPath: '{.running}' }]);
  assert.equal((await resolveResourceType(client, 'mc')).sensitivity, 'sensitive');
  assert.equal((await resolveResourceType(client, 'MachineConfigs.config.talos.dev')).defaultNamespace, 'config');
  await assert.rejects(resolveResourceType(client, 'nope'), (e) => hasCode(e, Code.NotFound) && /"nope"/.test(e.message));
  assert.deepEqual(node.calls[0]?.metadata.get('node'), ['n1']);
});

test('resourceView: numeric versions, timestamps and a YAML spec decode for printing', () => {
  const v = resourceView({
    metadata: { namespace: 'runtime', type: 'Services.v1alpha1.talos.dev', id: 'apid', version: '3', owner: '', phase: 'running', created: { seconds: 1700000000n, nanos: 0 } },
    spec: { yamlSpec: 'running: true\nhealthy: false\n' },
  } as never);
  assert.equal(v.metadata.version, 3);
  assert.equal(v.metadata.created?.toISOString(), '2023-11-14T22:13:20.000Z');
  assert.deepEqual(v.spec, { running: true, healthy: false });
});

test('talosClientOptionsFromContext: flags override the context endpoints and nodes', () => {
  const cfg = newTalosconfig('c', { endpoints: ['1.1.1.1'], nodes: ['2.2.2.2'], caPem: 'CA', crtPem: 'CRT', keyPem: 'KEY' });
  const ctx = cfg.contexts['c']!;
  assert.deepEqual(talosClientOptionsFromContext(ctx), { endpoints: ['1.1.1.1'], nodes: ['2.2.2.2'], caPem: 'CA', crtPem: 'CRT', keyPem: 'KEY' });
  const o = talosClientOptionsFromContext(ctx, { endpoints: ['3.3.3.3'], nodes: ['4.4.4.4', '5.5.5.5'] });
  assert.deepEqual([o.endpoints, o.nodes], [['3.3.3.3'], ['4.4.4.4', '5.5.5.5']]);
});
