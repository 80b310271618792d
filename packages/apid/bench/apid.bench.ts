// Version round trips through apid: straight to the local backend, one proxy hop, and a
// one-to-many call over five nodes. Prints p50/p99 per case in milliseconds.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Metadata } from '@grpc/grpc-js';
import { callUnary, md, rawClient, startCluster } from './fixtures.ts';

const VERSION = '/machine.MachineService/Version';
const nodes = { a: '127.0.0.2', b: '127.0.0.3', c: '127.0.0.4', d: '127.0.0.5', e: '127.0.0.6' };

function pct(sorted: number[], p: number): number {
  const v = sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;
  return Math.round(v * 1000) / 1000;
}

const dir = mkdtempSync(join(tmpdir(), 'apid-bench-'));
const cluster = await startCluster(dir, nodes);
const pair = await cluster.client(['os:admin']);
const client = rawClient(cluster.addresses.get('a') as string, { caPem: cluster.ca.crtPem, certPem: pair.crt, keyPem: pair.key });

async function measure(meta: () => Metadata, iterations: number): Promise<{ p50: number; p99: number; n: number }> {
  for (let i = 0; i < 50; i++) await callUnary(client, VERSION, Buffer.alloc(0), meta());
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    const out = await callUnary(client, VERSION, Buffer.alloc(0), meta());
    times.push(performance.now() - t0);
    if (!out.ok) throw new Error(`call failed: ${out.details}`);
  }
  times.sort((x, y) => x - y);
  return { p50: pct(times, 50), p99: pct(times, 99), n: iterations };
}

try {
  const direct = await measure(() => md(), 1000);
  const hop = await measure(() => md({ node: 'b' }), 600);
  const single = await measure(() => md({ nodes: 'b' }), 600);
  const fanout5 = await measure(() => md({ nodes: 'a,b,c,d,e' }), 400);
  console.log(
    JSON.stringify({
      bench: 'apid.version',
      unit: 'ms',
      direct,
      hop,
      oneToManySingle: single,
      oneToMany5: fanout5,
      fanoutVsSingleP50: Math.round((fanout5.p50 / single.p50) * 100) / 100,
      targets: { directP50MaxMs: 3, fanoutVsSingleMax: 1.5 },
    }),
  );
} finally {
  client.close();
  await cluster[Symbol.asyncDispose]();
  rmSync(dir, { recursive: true, force: true });
}
