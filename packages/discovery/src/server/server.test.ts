import { test } from 'node:test';
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:http2';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import { Client, credentials, status } from '@grpc/grpc-js';
import { DiscoveryClient, createGrpcClient, discoveryServerPb as pb, type AffiliateEvent } from '@talos-ts/machinery';
import { createDiscoveryServer } from './server.ts';
import type { DiscoveryServerOptions } from './server.ts';

const secret = randomBytes(32).toString('base64');
const ttl = { seconds: 60n, nanos: 0 };

async function serve(t: TestContext, opts: DiscoveryServerOptions = {}) {
  const server = await createDiscoveryServer({ rateLimit: false, ...opts });
  t.after(() => server[Symbol.asyncDispose]());
  const { address } = await server.listen('127.0.0.1:0');
  return { server, address };
}

/** Polls until cond holds; a liveness bound, not a timing assertion. */
async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Node {
  client: DiscoveryClient;
  ac: AbortController;
  events: AffiliateEvent[];
  hostname: string;
  ip: Uint8Array;
}

function startNode(t: TestContext, address: string, i: number, ttlMs: number): Node {
  const events: AffiliateEvent[] = [];
  const client = new DiscoveryClient({ endpoint: address, clusterId: 'cluster-1', affiliateId: `node-${i}`, clusterSecret: secret, ttlMs, onEvent: (e) => events.push(e) });
  const hostname = `secret-host-${i}.internal.example`;
  const ip = Uint8Array.of(10, 77, 0, 10 + i);
  client.setLocalData({ nodeId: `node-${i}`, hostname, nodename: hostname, addresses: [ip], machineType: 'controlplane' }, [{ ip, port: 51820 }]);
  const ac = new AbortController();
  client.start(ac.signal);
  t.after(() => client[Symbol.asyncDispose]());
  return { client, ac, events, hostname, ip };
}

test('discovery: three clients see each other; a silent one expires after its TTL; explicit delete is seen at once', async (t) => {
  const { server, address } = await serve(t, { gcIntervalMs: 100 });
  const nodes = [0, 1, 2].map((i) => startNode(t, address, i, 1500));
  await waitFor('every node to see the two others', () => nodes.every((n) => n.client.affiliates().size === 2));
  const seen = nodes[0]!.client.affiliates().get('node-1');
  assert.equal(seen?.affiliate.hostname, nodes[1]!.hostname);
  assert.deepEqual([...(seen?.endpoints[0]?.ip ?? [])], [...nodes[1]!.ip]);
  assert.equal(seen?.endpoints[0]?.port, 51820);
  assert.deepEqual([...nodes[0]!.client.publicIp], [127, 0, 0, 1]);

  // Refreshes at TTL/2 keep the live nodes; node-2 stops refreshing and must expire.
  nodes[2]!.ac.abort();
  await waitFor('node-2 to expire', () => !nodes[0]!.client.affiliates().has('node-2') && !nodes[1]!.client.affiliates().has('node-2'));
  assert.ok(nodes[0]!.events.some((e) => e.type === 'delete' && e.id === 'node-2'));
  assert.ok(server.metrics.gcCollected >= 1);
  assert.equal(nodes[0]!.client.affiliates().has('node-1'), true, 'refreshing nodes survive several TTLs');

  nodes[1]!.client.deleteLocalAffiliate();
  await waitFor('node-1 delete to reach node-0', () => nodes[0]!.events.some((e) => e.type === 'delete' && e.id === 'node-1'));
  assert.equal(server.state.list('cluster-1').length, 1);
});

test('discovery: neither server memory nor the snapshot file holds a plaintext hostname or address', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-disc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const snapshotPath = join(dir, 'snap.json');
  const { server, address } = await serve(t, { snapshotPath });
  const nodes = [0, 1, 2].map((i) => startNode(t, address, i, 60_000));
  await waitFor('all nodes to be stored', () => server.state.list('cluster-1').length === 3);
  await server.saveSnapshot();
  const file = readFileSync(snapshotPath);
  const fileText = file.toString('utf8');
  for (const n of nodes) {
    const host = Buffer.from(n.hostname);
    for (const c of server.state.clusters.values()) {
      for (const a of c.affiliates.values()) {
        const blobs = [Buffer.from(a.data ?? '', 'latin1'), ...a.endpoints.map((e) => Buffer.from(e.key, 'latin1'))];
        for (const b of blobs) {
          assert.ok(!b.includes(host), `hostname of ${a.id} stored in clear`);
          assert.ok(!b.includes(Buffer.from(n.ip)), `address of ${a.id} stored in clear`);
        }
        assert.ok(!a.id.includes('host'));
      }
    }
    assert.ok(!fileText.includes(n.hostname) && !fileText.includes('10.77.0.'));
    assert.ok(!file.includes(Buffer.from(n.ip)));
  }
  // The checks above are not vacuous: the file does carry every affiliate's sealed blob.
  for (const stored of server.state.list('cluster-1')) {
    assert.ok(fileText.includes(Buffer.from(stored.data).toString('base64')), 'snapshot carries the ciphertext');
  }
});

test('discovery: a restart from the snapshot keeps affiliates, data and endpoints', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-disc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const snapshotPath = join(dir, 'snap.json');
  const first = await createDiscoveryServer({ rateLimit: false, snapshotPath });
  const { address } = await first.listen('127.0.0.1:0');
  {
    using c = createGrpcClient(pb.Cluster, address, { plaintext: true });
    await c.affiliateUpdate({ clusterId: 'snap', affiliateId: 'a', affiliateData: Uint8Array.of(1, 2, 3), affiliateEndpoints: [new Uint8Array(16).fill(7)], ttl });
    await c.affiliateUpdate({ clusterId: 'snap', affiliateId: 'b', affiliateData: Uint8Array.of(4), ttl });
  }
  await first[Symbol.asyncDispose]();

  const { server } = await serve(t, { snapshotPath });
  const list = server.state.list('snap').sort((x, y) => x.id.localeCompare(y.id));
  assert.deepEqual(list.map((a) => a.id), ['a', 'b']);
  assert.deepEqual([...list[0]!.data], [1, 2, 3]);
  assert.deepEqual([...list[0]!.endpoints[0]!], new Array(16).fill(7));
  assert.ok(list[0]!.endpoints.length === 1 && list[1]!.endpoints.length === 0);
});

test('discovery: a corrupt snapshot stops start-up with DataLoss and is not overwritten', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-disc-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const snapshotPath = join(dir, 'snap.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(snapshotPath, '{"version":1,"clusters":[{"id":3}]}');
  await assert.rejects(createDiscoveryServer({ snapshotPath }), /snapshot\.clusters\[0\]\.id: must be a string/);
  assert.equal(readFileSync(snapshotPath, 'utf8'), '{"version":1,"clusters":[{"id":3}]}');
});

test('discovery: Watch sends a snapshot first, then changes, with deleted set on removal', async (t) => {
  const { address } = await serve(t);
  using c = createGrpcClient(pb.Cluster, address, { plaintext: true });
  await c.affiliateUpdate({ clusterId: 'w', affiliateId: 'pre', affiliateData: Uint8Array.of(9), ttl });
  const ac = new AbortController();
  const got: pb.WatchResponse[] = [];
  const reading = (async () => {
    for await (const m of c.watch({ clusterId: 'w' }, { signal: ac.signal })) got.push(m);
  })().catch(() => {});
  await waitFor('snapshot', () => got.length === 1);
  assert.deepEqual(got[0]!.affiliates.map((a) => a.id), ['pre']);
  assert.equal(got[0]!.deleted, false);
  await c.affiliateUpdate({ clusterId: 'w', affiliateId: 'new', affiliateData: Uint8Array.of(8), ttl });
  await c.affiliateDelete({ clusterId: 'w', affiliateId: 'pre' });
  await waitFor('two changes', () => got.length === 3);
  assert.deepEqual([got[1]!.affiliates[0]!.id, got[1]!.deleted], ['new', false]);
  assert.deepEqual([got[2]!.affiliates[0]!.id, got[2]!.deleted], ['pre', true]);
  ac.abort();
  await reading;
});

test('discovery: Hello returns the client IP as 4 bytes and an optional redirect', async (t) => {
  const { address } = await serve(t, { redirect: (id) => (id === 'moved' ? 'other.example:443' : undefined) });
  using c = createGrpcClient(pb.Cluster, address, { plaintext: true });
  const hello = await c.hello({ clusterId: 'here', clientVersion: 'test' });
  assert.deepEqual([...hello.clientIp], [127, 0, 0, 1]);
  assert.equal(hello.redirect, undefined);
  assert.equal((await c.hello({ clusterId: 'moved' })).redirect?.endpoint, 'other.example:443');
});

test('discovery: malformed and oversized raw requests are rejected without touching other clusters', async (t) => {
  const { server, address } = await serve(t);
  using c = createGrpcClient(pb.Cluster, address, { plaintext: true });
  await c.affiliateUpdate({ clusterId: 'bystander', affiliateId: 'b', affiliateData: Uint8Array.of(5), ttl });
  const ac = new AbortController();
  const got: pb.WatchResponse[] = [];
  const reading = (async () => {
    for await (const m of c.watch({ clusterId: 'bystander' }, { signal: ac.signal })) got.push(m);
  })().catch(() => {});
  await waitFor('bystander snapshot', () => got.length === 1);

  const raw = new Client(address, credentials.createInsecure());
  t.after(() => raw.close());
  const id = (b: Buffer) => b;
  const call = (path: string, body: Buffer) =>
    new Promise<{ code: number; details: string }>((resolve) =>
      raw.makeUnaryRequest(`/sidero.discovery.server.Cluster/${path}`, id, id, body, (err) => resolve(err ? { code: err.code, details: err.details } : { code: 0, details: '' })),
    );
  const valid = Buffer.from(toBinary(pb.AffiliateUpdateRequestSchema, create(pb.AffiliateUpdateRequestSchema, { clusterId: 'bystander', affiliateId: 'b', affiliateData: Uint8Array.of(6), ttl })));
  // Truncated: the last field claims more bytes than follow.
  const truncated = valid.subarray(0, valid.length - 3);
  const r1 = await call('AffiliateUpdate', truncated);
  assert.equal(r1.code, status.INVALID_ARGUMENT);
  assert.match(r1.details, /malformed sidero\.discovery\.server\.AffiliateUpdateRequest/);
  // A field tagged with wire type 7 does not exist.
  assert.equal((await call('AffiliateUpdate', Buffer.from([0x0f, 0x01]))).code, status.INVALID_ARGUMENT);
  assert.equal((await call('Hello', Buffer.alloc(100_000, 0x0a))).code, status.RESOURCE_EXHAUSTED);
  assert.equal((await call('List', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]))).code, status.INVALID_ARGUMENT);

  const [b] = server.state.list('bystander');
  assert.deepEqual([...(b?.data ?? [])], [5], 'bystander data unchanged');
  assert.equal(got.length, 1, 'bystander watcher saw no change');
  // The watch is still live: a real change still arrives.
  await c.affiliateUpdate({ clusterId: 'bystander', affiliateId: 'b', affiliateData: Uint8Array.of(7), ttl });
  await waitFor('bystander change', () => got.length === 2);
  ac.abort();
  await reading;
});

test('discovery: a stalled watcher costs bounded memory and never slows a fast one; churn past the cap cuts it off', async (t) => {
  const { server, address } = await serve(t, { watcherPendingMax: 64 });
  // A raw HTTP/2 client with a 256-byte window that stops reading: the server really cannot send
  // to it (a paused grpc-js client keeps draining the socket into its own buffers).
  const session = connect(`http://${address}`, { settings: { initialWindowSize: 256 } });
  t.after(() => session.close());
  const req = Buffer.from(toBinary(pb.WatchRequestSchema, create(pb.WatchRequestSchema, { clusterId: 'slow' })));
  const frame = Buffer.alloc(5 + req.length);
  frame.writeUInt32BE(req.length, 1);
  req.copy(frame, 5);
  const slow = session.request({ ':method': 'POST', ':path': '/sidero.discovery.server.Cluster/Watch', 'content-type': 'application/grpc', te: 'trailers' });
  slow.end(frame);
  slow.pause();
  let slowStatus: string | undefined;
  slow.on('trailers', (h) => (slowStatus = String(h['grpc-status'])));

  using c = createGrpcClient(pb.Cluster, address, { plaintext: true });
  const ac = new AbortController();
  const latest = new Map<string, number>();
  const reading = (async () => {
    for await (const m of c.watch({ clusterId: 'slow' }, { signal: ac.signal })) {
      for (const a of m.affiliates) if (a.data.length >= 2) latest.set(a.id, new DataView(a.data.buffer, a.data.byteOffset, a.data.byteLength).getUint16(0));
    }
  })().catch(() => {});
  await waitFor('both watchers subscribed', () => server.state.stats().watchers === 2);

  const updates = 3000;
  let maxPending = 0;
  for (let i = 0; i < updates; i++) {
    const data = Buffer.alloc(1024);
    data.writeUInt16BE(i, 0);
    server.state.update('slow', `a${i % 50}`, { data, endpoints: [], ttlMs: 60_000 });
    maxPending = Math.max(maxPending, ...server.pendingPerWatcher());
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
  }
  await waitFor('fast watcher to reach the final state of every affiliate', () =>
    Array.from({ length: 50 }, (_, k) => latest.get(`a${k}`) === updates - 50 + k).every(Boolean),
  );
  assert.ok(maxPending <= 50, `pending ids per watcher stay within the affiliates in play (max ${maxPending})`);
  assert.ok(server.metrics.watchCoalesced > 0, 'the stalled watcher coalesced updates');
  assert.equal(slowStatus, undefined, 'a stalled watcher is not cut off while it only lags on known ids');

  for (let i = 0; i < 100; i++) {
    server.state.update('slow', `churn${i}`, { data: Uint8Array.of(1, 1), endpoints: [], ttlMs: 60_000 });
    if (i % 10 === 9) await new Promise((r) => setTimeout(r, 5));
  }
  await waitFor('fast watcher to see the churn', () => latest.has('churn99'));
  assert.equal(server.metrics.watcherOverflows, 1);
  slow.resume();
  slow.on('data', () => {});
  await waitFor('slow watcher to be ended', () => slowStatus !== undefined);
  assert.equal(slowStatus, String(status.RESOURCE_EXHAUSTED));
  ac.abort();
  await reading;
});

test('discovery: /metrics serves Prometheus text with gauges and request counters', async (t) => {
  const { server, address } = await serve(t);
  const m = await server.listenMetrics('127.0.0.1:0');
  using c = createGrpcClient(pb.Cluster, address, { plaintext: true });
  await c.hello({ clusterId: 'm' });
  await c.affiliateUpdate({ clusterId: 'm', affiliateId: 'a', affiliateData: Uint8Array.of(1), affiliateEndpoints: [new Uint8Array(16)], ttl });
  await c.affiliateUpdate({ clusterId: 'm', affiliateId: 'a', ttl: { seconds: 999_999n, nanos: 0 } }).catch(() => {});
  const res = await fetch(`http://${m.address}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  const text = await res.text();
  assert.match(text, /^# TYPE discovery_affiliates gauge$/m);
  assert.match(text, /^discovery_clusters 1$/m);
  assert.match(text, /^discovery_affiliates 1$/m);
  assert.match(text, /^discovery_endpoints 1$/m);
  assert.match(text, /^discovery_watchers 0$/m);
  assert.match(text, /^discovery_requests_total\{method="Hello",code="OK"\} 1$/m);
  assert.match(text, /^discovery_requests_total\{method="AffiliateUpdate",code="OK"\} 1$/m);
  assert.match(text, /^discovery_requests_total\{method="AffiliateUpdate",code="InvalidArgument"\} 1$/m);
  assert.equal((await fetch(`http://${m.address}/other`)).status, 404);
});

test('discovery: serves over TLS; the client library iterates add events and stops on abort', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-disc-tls-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-subj', '/CN=localhost', '-days', '1', '-addext', 'subjectAltName=DNS:localhost'], { cwd: dir, stdio: 'pipe' });
  const cert = readFileSync(join(dir, 'c.pem'));
  const { port } = await (async () => {
    const server = await createDiscoveryServer({ rateLimit: false, tls: { certPem: cert, keyPem: readFileSync(join(dir, 'k.pem')) } });
    t.after(() => server[Symbol.asyncDispose]());
    return server.listen('127.0.0.1:0');
  })();
  const endpoint = `localhost:${port}`;
  const mk = (id: string) =>
    new DiscoveryClient({ endpoint, clusterId: 'tls', affiliateId: id, clusterSecret: secret, ttlMs: 60_000, tls: { caPem: cert } });
  const a = mk('a');
  const b = mk('b');
  a.setLocalData({ nodeId: 'a', hostname: 'host-a' });
  b.setLocalData({ nodeId: 'b', hostname: 'host-b' });
  const ac = new AbortController();
  const runs = [a.run(ac.signal), b.run(ac.signal)];
  const events: AffiliateEvent[] = [];
  for await (const e of a.events(ac.signal)) {
    events.push(e);
    if (e.type === 'add') break;
  }
  assert.equal(events[0]?.type, 'add');
  assert.equal(events[0]?.type === 'add' ? events[0].affiliate.affiliate.hostname : '', 'host-b');
  ac.abort();
  await Promise.all(runs);
});

test('discovery: local data changed while an update is in flight is published at once, not at the next TTL/2 refresh', async (t) => {
  const server = await createDiscoveryServer({ rateLimit: false });
  t.after(() => server[Symbol.asyncDispose]());
  const { address } = await server.listen('127.0.32.1:0');
  // A 30-minute TTL as on a node: the periodic refresh cannot rescue a lost change within the test.
  const writer = new DiscoveryClient({ endpoint: address, clusterId: 'late', affiliateId: 'writer', clusterSecret: secret, ttlMs: 30 * 60_000 });
  const reader = new DiscoveryClient({ endpoint: address, clusterId: 'late', affiliateId: 'reader', clusterSecret: secret, ttlMs: 30 * 60_000 });
  t.after(() => writer[Symbol.asyncDispose]());
  t.after(() => reader[Symbol.asyncDispose]());
  const data = (hostname: string) => ({ nodeId: 'writer', hostname, nodename: hostname, addresses: [Uint8Array.of(10, 0, 0, 1)], machineType: 'controlplane' });
  // The service applying the writer's first update is the moment its client awaits the reply:
  // a change made then (as KubeSpan's key arriving after the first publish) must not be lost.
  const update = server.state.update.bind(server.state);
  let changed = false;
  server.state.update = (clusterId, affiliateId, upd) => {
    update(clusterId, affiliateId, upd);
    if (affiliateId === 'writer' && !changed) {
      changed = true;
      writer.setLocalData(data('second'));
    }
  };
  writer.setLocalData(data('first'));
  writer.start();
  reader.start();
  await waitFor('the reader to see the second data', () => reader.affiliates().get('writer')?.affiliate.hostname === 'second');
  assert.equal(changed, true);
});
