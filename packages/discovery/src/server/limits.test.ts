import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, hasCode } from '@talos-ts/cosi';
import { createGrpcClient, discoveryServerPb as pb } from '@talos-ts/machinery';
import type { GrpcClient } from '@talos-ts/machinery';
import { limits } from './limits.ts';
import { createDiscoveryServer } from './server.ts';
import type { DiscoveryServer } from './server.ts';

let server: DiscoveryServer;
let client: GrpcClient<typeof pb.Cluster>;
const ttl = { seconds: 60n, nanos: 0 };

before(async () => {
  server = await createDiscoveryServer({ rateLimit: false });
  const { address } = await server.listen('127.0.0.1:0');
  client = createGrpcClient(pb.Cluster, address, { plaintext: true });
});

after(async () => {
  client.close();
  await server[Symbol.asyncDispose]();
});

const invalid = (re: RegExp) => (e: unknown) => hasCode(e, Code.InvalidArgument) && re.test(e.message);
const exhausted = (re: RegExp) => (e: unknown) => hasCode(e, Code.ResourceExhausted) && re.test(e.message);

test('limits: cluster id longer than 256 chars is InvalidArgument, 256 is fine, empty is rejected', async () => {
  const long = 'c'.repeat(limits.clusterIdMaxChars + 1);
  await assert.rejects(client.affiliateUpdate({ clusterId: long, affiliateId: 'a', affiliateData: new Uint8Array(8), ttl }), invalid(/cluster id is longer than 256/));
  await assert.rejects(client.watch({ clusterId: long })[Symbol.asyncIterator]().next(), invalid(/cluster id/));
  await assert.rejects(client.hello({ clusterId: '' }), invalid(/cluster id must not be empty/));
  assert.equal(server.state.clusters.has(long), false);
  await client.affiliateUpdate({ clusterId: 'c'.repeat(256), affiliateId: 'a', affiliateData: new Uint8Array(8), ttl });
  assert.equal(server.state.list('c'.repeat(256)).length, 1);
});

test('limits: affiliate id longer than 256 chars is InvalidArgument and stores nothing', async () => {
  await assert.rejects(client.affiliateUpdate({ clusterId: 'aid', affiliateId: 'a'.repeat(257), affiliateData: new Uint8Array(8), ttl }), invalid(/affiliate id is longer than 256/));
  await assert.rejects(client.affiliateDelete({ clusterId: 'aid', affiliateId: '' }), invalid(/affiliate id must not be empty/));
  assert.equal(server.state.list('aid').length, 0);
});

test('limits: affiliate data over 2048 bytes is InvalidArgument and keeps the old data', async () => {
  await client.affiliateUpdate({ clusterId: 'data', affiliateId: 'a', affiliateData: new Uint8Array(2048).fill(1), ttl });
  await assert.rejects(client.affiliateUpdate({ clusterId: 'data', affiliateId: 'a', affiliateData: new Uint8Array(2049).fill(2), ttl }), invalid(/2049 bytes, more than 2048/));
  const [a] = server.state.list('data');
  assert.equal(a?.data.length, 2048);
  assert.equal(a?.data[0], 1);
});

test('limits: an endpoint over 32 bytes is InvalidArgument; none of the request is applied', async () => {
  await assert.rejects(
    client.affiliateUpdate({ clusterId: 'ep', affiliateId: 'a', affiliateData: new Uint8Array(4), affiliateEndpoints: [new Uint8Array(32), new Uint8Array(33)], ttl }),
    invalid(/endpoint is 33 bytes, more than 32/),
  );
  assert.equal(server.state.list('ep').length, 0);
});

test('limits: TTL over 30 minutes, zero or missing is InvalidArgument', async () => {
  await assert.rejects(client.affiliateUpdate({ clusterId: 'ttl', affiliateId: 'a', ttl: { seconds: 30n * 60n + 1n, nanos: 0 } }), invalid(/ttl is longer than 30 minutes/));
  await assert.rejects(client.affiliateUpdate({ clusterId: 'ttl', affiliateId: 'a' }), invalid(/ttl must be positive/));
  assert.equal(server.state.list('ttl').length, 0);
});

test('limits: the 1025th affiliate of a cluster is ResourceExhausted; updating existing ones still works', async () => {
  const ids = Array.from({ length: limits.clusterAffiliatesMax }, (_, i) => `n${i}`);
  for (let i = 0; i < ids.length; i += 128) {
    await Promise.all(ids.slice(i, i + 128).map((affiliateId) => client.affiliateUpdate({ clusterId: 'many', affiliateId, affiliateData: new Uint8Array(4), ttl })));
  }
  await assert.rejects(client.affiliateUpdate({ clusterId: 'many', affiliateId: 'one-too-many', affiliateData: new Uint8Array(4), ttl }), exhausted(/already has 1024 affiliates/));
  await client.affiliateUpdate({ clusterId: 'many', affiliateId: 'n0', affiliateData: new Uint8Array(5), ttl });
  assert.equal(server.state.list('many').length, 1024);
  // Other clusters are not affected by a full one.
  await client.affiliateUpdate({ clusterId: 'not-many', affiliateId: 'x', affiliateData: new Uint8Array(4), ttl });
});

test('limits: merging past 64 endpoints is ResourceExhausted and leaves data and endpoints unchanged', async () => {
  const ep = (i: number) => Uint8Array.from([i, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  await client.affiliateUpdate({ clusterId: 'eps', affiliateId: 'a', affiliateData: Uint8Array.of(1), affiliateEndpoints: Array.from({ length: 64 }, (_, i) => ep(i)), ttl });
  // Re-sending known endpoints is not growth.
  await client.affiliateUpdate({ clusterId: 'eps', affiliateId: 'a', affiliateEndpoints: [ep(0), ep(63)], ttl });
  await assert.rejects(
    client.affiliateUpdate({ clusterId: 'eps', affiliateId: 'a', affiliateData: Uint8Array.of(2), affiliateEndpoints: [ep(64)], ttl }),
    exhausted(/65 endpoints, more than 64/),
  );
  const [a] = server.state.list('eps');
  assert.equal(a?.endpoints.length, 64);
  assert.deepEqual([...(a?.data ?? [])], [1]);
});

test('limits: a message over the size cap is ResourceExhausted at the transport', async () => {
  await assert.rejects(
    client.affiliateUpdate({ clusterId: 'big', affiliateId: 'a', affiliateData: new Uint8Array(limits.messageMaxBytes + 1), ttl }),
    (e) => hasCode(e, Code.ResourceExhausted),
  );
  assert.equal(server.state.list('big').length, 0);
});

test('rate limit: more than the burst from one IP is ResourceExhausted; rejected updates store nothing', async () => {
  await using limited = await createDiscoveryServer();
  const { address } = await limited.listen('127.0.0.1:0');
  using c = createGrpcClient(pb.Cluster, address, { plaintext: true });
  const results = await Promise.allSettled(
    Array.from({ length: 150 }, (_, i) => c.affiliateUpdate({ clusterId: 'rl', affiliateId: `a${i}`, affiliateData: new Uint8Array(4), ttl })),
  );
  const ok = results.filter((r) => r.status === 'fulfilled').length;
  const limitedErrs = results.filter((r) => r.status === 'rejected' && exhausted(/rate limit exceeded/)(r.reason)).length;
  assert.equal(ok + limitedErrs, 150, 'every failure is a rate-limit failure');
  assert.ok(ok >= 60, `the burst of 60 passes (got ${ok})`);
  assert.ok(limitedErrs > 0, 'some requests were limited');
  assert.equal(limited.state.list('rl').length, ok);
  assert.ok(limited.metrics.render(limited.state.stats()).includes('discovery_requests_total{method="AffiliateUpdate",code="ResourceExhausted"}'));
});
