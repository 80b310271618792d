import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createGrpcClient, discoveryServerPb as pb } from '@talos-ts/machinery';
import { parseArgs } from './main.ts';

test('parseArgs: defaults, durations and one-line errors', () => {
  const ok = parseArgs(['--listen', '127.0.0.1:3000', '--snapshot-interval=90s', '--gc-interval', '500ms']);
  assert.deepEqual(ok, { value: { listen: '127.0.0.1:3000', snapshotIntervalMs: 90_000, gcIntervalMs: 500 } });
  const d = parseArgs(['--listen', ':3000']);
  assert.ok('value' in d && d.value.snapshotIntervalMs === 600_000 && d.value.gcIntervalMs === 60_000);
  assert.deepEqual(parseArgs([]), { error: '--listen is required' });
  assert.deepEqual(parseArgs(['--listen', 'x:1', '--gc-interval', '5 minutes']), { error: '--gc-interval: "5 minutes" is not a duration like 30s, 10m, 1h' });
  assert.deepEqual(parseArgs(['--listen', 'x:1', '--tls-cert', 'a.pem']), { error: '--tls-cert and --tls-key go together' });
  assert.deepEqual(parseArgs(['--listen', 'x:1', '--port', '3']), { error: 'unknown argument "--port"' });
});

test('talos-discovery: the bin serves gRPC and /metrics, and saves its snapshot on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-disc-bin-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const snapshot = join(dir, 'state.json');
  const bin = new URL('../bin/talos-discovery.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, '--listen', '127.0.0.1:0', '--metrics-listen', '127.0.0.1:0', '--snapshot-path', snapshot, '--gc-interval', '1s'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const first = JSON.parse(String((await lines.next()).value)) as { listening: string };
  const second = JSON.parse(String((await lines.next()).value)) as { metrics: string };

  using c = createGrpcClient(pb.Cluster, first.listening, { plaintext: true });
  await c.affiliateUpdate({ clusterId: 'bin', affiliateId: 'a', affiliateData: Uint8Array.of(1), ttl: { seconds: 60n, nanos: 0 } });
  assert.equal((await c.list({ clusterId: 'bin' })).affiliates.length, 1);
  const metrics = await (await fetch(second.metrics)).text();
  assert.match(metrics, /^discovery_affiliates 1$/m);

  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.ok(existsSync(snapshot), 'snapshot written on shutdown');
});
