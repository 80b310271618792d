// A proxied call to a node whose path went dead (the connection is up, nothing answers: a route
// black-holed into a KubeSpan link whose peer is not reachable) ends UNAVAILABLE through apid's
// keepalive, instead of waiting for the caller's deadline or TCP's. Loopback 127.0.32.x only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { defaultNodeAddress } from './route.ts';
import { callUnary, md, rawClient, startCluster } from '../bench/fixtures.ts';

const VERSION = '/machine.MachineService/Version';
const nodes = { a: '127.0.32.2', b: '127.0.32.3' };

/** A TCP relay on `host` to `target`; `freeze()` stops moving bytes while every socket stays open. */
async function relay(host: string, target: string): Promise<{ address: string; freeze(): void; close(): void }> {
  const sockets: Socket[] = [];
  const i = target.lastIndexOf(':');
  const server = createServer((client) => {
    const upstream = connect(Number(target.slice(i + 1)), target.slice(0, i));
    sockets.push(client, upstream);
    for (const s of [client, upstream]) s.on('error', () => undefined);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  return {
    address: `${host}:${(server.address() as AddressInfo).port}`,
    freeze: () => {
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('apid dead path: a call proxied to a node whose connection went silent ends UNAVAILABLE within the keepalive bound, well before its deadline', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apid-dead-'));
  // b is reached through a relay on b's own address (its certificate names that IP).
  let toB = '';
  const cluster = await startCluster(dir, nodes, {
    remoteBounds: { connectTimeoutMs: 1000, keepalive: { intervalMs: 100, timeoutMs: 300 } },
    resolveNode: (n) => (n === 'b' ? toB : defaultNodeAddress(n, 50000)),
  });
  const r = await relay(nodes.b, cluster.addresses.get('b') as string);
  toB = r.address;
  const pair = await cluster.client(['os:reader']);
  const client = rawClient(cluster.addresses.get('a') as string, { caPem: cluster.ca.crtPem, certPem: pair.crt, keyPem: pair.key });
  t.after(async () => {
    client.close();
    r.close();
    await cluster[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  const first = await callUnary(client, VERSION, Buffer.alloc(0), md({ node: 'b' }));
  assert.ok(first.ok, `b answers through the relay: ${JSON.stringify(first)}`);
  r.freeze();
  const started = performance.now();
  const second = await callUnary(client, VERSION, Buffer.alloc(0), md({ node: 'b' }), 10_000);
  const took = performance.now() - started;
  assert.equal(second.ok, false);
  assert.ok(!second.ok && second.code === status.UNAVAILABLE, JSON.stringify(second));
  assert.ok(!second.ok && /node b is unreachable/.test(second.details), JSON.stringify(second));
  assert.ok(took < 3000, `ended after ${Math.round(took)} ms (the deadline was 10 s)`);
});
