// Discovery service under a realistic fleet: 1,000 clusters × 10 affiliates, one watcher per
// cluster, all over real gRPC on 127.0.0.1. Prints update→watcher latency (p50/p99), heap bytes
// per stored affiliate and sustained end-to-end updates per second as one JSON object.
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { createGrpcClient, discoveryServerPb as pb } from '@talos-ts/machinery';
import { createDiscoveryServer, sealData, sealEndpoint, clusterKey } from '../src/index.ts';

const clusters = 1000;
const perCluster = 10;
const latencySamples = 3000;
const throughputUpdates = 20_000;
const ttl = { seconds: 600n, nanos: 0 };
const gc = (globalThis as { gc?: () => void }).gc;

function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc?.();
  return process.memoryUsage().heapUsed;
}

const key = clusterKey(randomBytes(32));
// A sealed affiliate is ~nonce + protobuf (id, 2 addresses, names, KubeSpan key) + tag.
const sampleData = sealData(key, randomBytes(150));
const sampleEndpoints = [sealEndpoint(key, randomBytes(10)), sealEndpoint(key, randomBytes(22))];

/** Data carrying a sequence number in its first 4 bytes, so the watcher can time it. */
function dataWithSeq(seq: number): Uint8Array {
  const d = Buffer.from(sampleData);
  d.writeUInt32BE(seq, 0);
  return d;
}

async function inParallel(n: number, concurrency: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

await using server = await createDiscoveryServer({ rateLimit: false });
const { address } = await server.listen('127.0.0.1:0');
using client = createGrpcClient(pb.Cluster, address, { plaintext: true });
const cid = (c: number) => `cluster-${c}`;
const aid = (a: number) => `affiliate-${a}`;

// Memory: heap before and after storing every affiliate, with no watchers yet.
const heapBefore = heapUsed();
await inParallel(clusters * perCluster, 64, (i) =>
  client.affiliateUpdate({ clusterId: cid(Math.floor(i / perCluster)), affiliateId: aid(i % perCluster), affiliateData: sampleData, affiliateEndpoints: sampleEndpoints, ttl }),
);
const heapAfter = heapUsed();
const stats = server.state.stats();
if (stats.affiliates !== clusters * perCluster) throw new Error(`stored ${stats.affiliates} affiliates`);

// One watcher per cluster; each records when a sequence number arrives.
const sentAt = new Map<number, number>();
const latencies: number[] = [];
let delivered = 0;
let onDelivered: (() => void) | undefined;
const ac = new AbortController();
setMaxListeners(0, ac.signal);
let snapshots = 0;
const watchers = Array.from({ length: clusters }, async (_, c) => {
  let first = true;
  try {
    for await (const m of client.watch({ clusterId: cid(c) }, { signal: ac.signal })) {
      if (first) {
        first = false;
        snapshots++;
        continue;
      }
      for (const a of m.affiliates) {
        if (a.data.length < 4) continue;
        const seq = new DataView(a.data.buffer, a.data.byteOffset, 4).getUint32(0);
        const t0 = sentAt.get(seq);
        if (t0 !== undefined) {
          latencies.push(performance.now() - t0);
          sentAt.delete(seq);
        }
        delivered++;
        onDelivered?.();
      }
    }
  } catch {
    // Aborted at the end of the run.
  }
});
while (snapshots < clusters) await new Promise((r) => setTimeout(r, 10));

// Latency: moderate load (8 updates in flight), each update timed until its watcher sees it.
let seq = 1;
await inParallel(latencySamples, 8, async (i) => {
  const s = seq++;
  const c = (i * 7919) % clusters;
  sentAt.set(s, performance.now());
  await client.affiliateUpdate({ clusterId: cid(c), affiliateId: aid(i % perCluster), affiliateData: dataWithSeq(s), ttl });
});
while (sentAt.size > 0) await new Promise((r) => setTimeout(r, 5));
latencies.sort((a, b) => a - b);

// Throughput: as many updates as the server takes, counted when the watchers have them all.
const deliveredBefore = delivered;
const t0 = performance.now();
const allDelivered = new Promise<void>((resolve) => {
  onDelivered = () => {
    if (delivered - deliveredBefore >= throughputUpdates) resolve();
  };
});
await inParallel(throughputUpdates, 128, async (i) => {
  const s = seq++;
  await client.affiliateUpdate({ clusterId: cid(i % clusters), affiliateId: aid(Math.floor(i / clusters) % perCluster), affiliateData: dataWithSeq(s), ttl });
});
const sendMs = performance.now() - t0;
await Promise.race([allDelivered, new Promise((r) => setTimeout(r, 20_000))]);
const e2eMs = performance.now() - t0;
ac.abort();
await Promise.all(watchers);

console.log(
  JSON.stringify({
    bench: 'discovery',
    clusters,
    affiliatesPerCluster: perCluster,
    watchers: clusters,
    latencyP50Ms: Number(percentile(latencies, 50).toFixed(2)),
    latencyP99Ms: Number(percentile(latencies, 99).toFixed(2)),
    latencySamples: latencies.length,
    bytesPerAffiliate: Math.round((heapAfter - heapBefore) / (clusters * perCluster)),
    gcExposed: gc !== undefined,
    updatesPerSecond: Math.round((delivered - deliveredBefore) / (e2eMs / 1000)),
    updatesAcceptedPerSecond: Math.round(throughputUpdates / (sendMs / 1000)),
    deliveredOfSent: `${delivered - deliveredBefore}/${throughputUpdates}`,
    coalesced: server.metrics.watchCoalesced,
    targets: { latencyP99Ms: 50, bytesPerAffiliate: 2048 },
  }),
);
