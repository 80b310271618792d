// apid under hostile input: refusals before the body is read, targets it will not dial, one
// answer for every unreachable node, fan-out limits, and a channel cache that stays bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:http2';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import { fromBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import type { Client } from '@grpc/grpc-js';
import { Code } from '@talos-ts/cosi';
import { machinePb } from '@talos-ts/machinery';
import type { ApidOptions } from './apid.ts';
import { callUnary, md, rawClient, startCluster } from '../bench/fixtures.ts';
import type { Cluster } from '../bench/fixtures.ts';

const VERSION = '/machine.MachineService/Version';

async function setup(t: { after(fn: () => Promise<void>): void }, nodes: Record<string, string>, apidOptions: Partial<ApidOptions> = {}): Promise<{ cluster: Cluster; client(roles: string[]): Promise<Client> }> {
  const dir = mkdtempSync(join(tmpdir(), 'apid-limits-'));
  const cluster = await startCluster(dir, nodes, apidOptions);
  const clients: Client[] = [];
  t.after(async () => {
    for (const c of clients) c.close();
    await cluster[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  return {
    cluster,
    client: async (roles) => {
      const pair = await cluster.client(roles);
      const c = rawClient(cluster.addresses.get('a') as string, { caPem: cluster.ca.crtPem, certPem: pair.crt, keyPem: pair.key });
      clients.push(c);
      return c;
    },
  };
}

function entries(reply: Buffer | undefined): { host: string; error: string }[] {
  return fromBinary(machinePb.VersionResponseSchema, reply ?? Buffer.alloc(0)).messages.map((m) => ({ host: m.metadata?.hostname ?? '', error: m.metadata?.error ?? '' }));
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

test('apid: a role-less caller sending a 31 MiB Version request is refused on its headers, before the body is read', { timeout: 20_000 }, async (t) => {
  const { cluster } = await setup(t, { a: '127.0.0.161' });
  const pair = await cluster.client([]);
  const address = cluster.addresses.get('a') as string;
  const session = connect(`https://${address}`, {
    ca: cluster.ca.crtPem,
    cert: pair.crt,
    key: pair.key,
    servername: 'talos-ip-target',
    checkServerIdentity: (_n: string, cert: PeerCertificate) => checkServerIdentity('127.0.0.161', cert),
  });
  session.on('error', () => {});
  t.after(async () => {
    session.destroy();
  });
  const req = session.request({ ':method': 'POST', ':path': VERSION, 'content-type': 'application/grpc', te: 'trailers' });
  req.on('error', () => {});
  req.resume();
  // The frame announces 31 MiB; 1 MiB of it goes out and the request never ends. Only a
  // refusal made on the headers can answer it.
  const head = Buffer.alloc(5);
  head.writeUInt32BE(31 * 1024 * 1024, 1);
  req.write(head);
  req.write(Buffer.alloc(1024 * 1024, 0x61));
  const headers = await new Promise<Record<string, unknown>>((resolve) => req.once('response', (h) => resolve(h)));
  assert.equal(headers['grpc-status'], String(Code.PermissionDenied));
  assert.equal(req.writableFinished, false, 'refused while the client was still sending');
  assert.equal(cluster.backends.get('a')?.log.calls.length, 0);
});

test('apid: a target naming a port is refused before anything is dialled, even this node\'s own address', { timeout: 20_000 }, async (t) => {
  const { cluster, client } = await setup(t, { a: '127.0.0.162' });
  const reader = await client(['os:reader']);
  const own = cluster.addresses.get('a') as string;
  for (const meta of [{ node: own }, { node: '127.0.0.162:22' }, { nodes: `a,${own}` }, { node: '[::1]:50000' }]) {
    const out = await callUnary(reader, VERSION, Buffer.alloc(0), md(meta));
    assert.equal(out.ok ? 'ok' : out.code, status.INVALID_ARGUMENT, JSON.stringify(meta));
    assert.match(out.ok ? '' : out.details, /names a port/);
  }
  assert.equal(cluster.backends.get('a')?.log.calls.length, 0);
});

test('apid: unreachable nodes (refused, no such host, not TLS) all answer with one uniform error', { timeout: 30_000 }, async (t) => {
  // Something on 127.0.0.164:50000 that is not a Talos node: it closes every connection at once.
  const junk = createServer((s) => s.destroy());
  await new Promise<void>((resolve, reject) => {
    junk.once('error', reject);
    junk.listen(50000, '127.0.0.164', () => resolve());
  });
  t.after(async () => {
    await new Promise<void>((r) => junk.close(() => r()));
  });
  const { cluster, client } = await setup(t, { a: '127.0.0.163' });
  const reader = await client(['os:reader']);
  const targets = ['127.0.0.165', 'no-such-node.invalid', '127.0.0.164'];
  const many = await callUnary(reader, VERSION, Buffer.alloc(0), md({ nodes: targets.join(',') }), 15_000);
  assert.ok(many.ok, JSON.stringify(many));
  assert.deepEqual(
    entries(many.messages[0]).map((e) => [e.host, e.error]),
    targets.map((n) => [n, `node ${n} is unreachable`]),
  );
  for (const n of targets) {
    const one = await callUnary(reader, VERSION, Buffer.alloc(0), md({ node: n }), 15_000);
    assert.deepEqual(one.ok ? 'ok' : [one.code, one.details], [status.UNAVAILABLE, `node ${n} is unreachable`]);
  }
  assert.equal(cluster.backends.get('a')?.log.calls.length, 0);
});

test('apid: nodes listed twice are called once; more than MAX_FAN_OUT distinct nodes are refused', { timeout: 20_000 }, async (t) => {
  const { cluster, client } = await setup(t, { a: '127.0.0.166', b: '127.0.0.167' });
  const reader = await client(['os:reader']);
  const out = await callUnary(reader, VERSION, Buffer.alloc(0), md({ nodes: 'b,a,b,b,a' }));
  assert.ok(out.ok);
  assert.deepEqual(entries(out.messages[0]).map((e) => e.host), ['b', 'a']);
  assert.equal(cluster.backends.get('b')?.log.calls.length, 1);
  const tooMany = Array.from({ length: 257 }, (_, i) => `127.0.1.${i % 256}${i >= 256 ? '0' : ''}`).join(',');
  const refused = await callUnary(reader, VERSION, Buffer.alloc(0), md({ nodes: tooMany }), 3000);
  assert.equal(refused.ok ? 'ok' : refused.code, status.INVALID_ARGUMENT);
  assert.equal(cluster.apids.get('a')?.remoteChannels, 1, 'nothing was dialled for the refused call');
});

test('apid: the channel cache never holds more than its cap and closes the channels it evicts', { timeout: 20_000 }, async (t) => {
  const { cluster, client } = await setup(t, { a: '127.0.0.168', b: '127.0.0.169', c: '127.0.0.170', d: '127.0.0.171' }, { maxRemoteChannels: 2 });
  const reader = await client(['os:reader']);
  const a = cluster.apids.get('a');
  for (const n of ['b', 'c', 'd', 'b']) {
    const out = await callUnary(reader, VERSION, Buffer.alloc(0), md({ node: n }));
    assert.ok(out.ok, n);
    assert.ok((a?.remoteChannels ?? Infinity) <= 2, `after ${n}: ${a?.remoteChannels}`);
  }
  // c was the least recently used when b came back: its connection is gone on c's side.
  await until(() => cluster.apids.get('c')?.connections === 0);
  assert.equal(cluster.apids.get('d')?.connections, 1);
});

test('apid: a channel to another node unused for remoteIdleMs is closed', { timeout: 20_000 }, async (t) => {
  const { cluster, client } = await setup(t, { a: '127.0.0.172', b: '127.0.0.173' }, { remoteIdleMs: 100 });
  const reader = await client(['os:reader']);
  const out = await callUnary(reader, VERSION, Buffer.alloc(0), md({ node: 'b' }));
  assert.ok(out.ok);
  await until(() => cluster.apids.get('a')?.remoteChannels === 0);
  await until(() => cluster.apids.get('b')?.connections === 0);
});
