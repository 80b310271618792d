import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { status } from '@grpc/grpc-js';
import type { Client, ServiceError } from '@grpc/grpc-js';
import { machinePb } from '@talos-ts/machinery';
import { callStream, callUnary, md, rawClient, startCluster } from '../bench/fixtures.ts';
import type { Cluster } from '../bench/fixtures.ts';

const VERSION = '/machine.MachineService/Version';
const EVENTS = '/machine.MachineService/Events';
const REBOOT = '/machine.MachineService/Reboot';
const nodes = { a: '127.0.0.2', b: '127.0.0.3', c: '127.0.0.4' };

function versions(reply: Buffer | undefined): { host: string; error: string; tag: string; sha: string }[] {
  return fromBinary(machinePb.VersionResponseSchema, reply ?? Buffer.alloc(0)).messages.map((m) => ({
    host: m.metadata?.hostname ?? '',
    error: m.metadata?.error ?? '',
    tag: m.version?.tag ?? '',
    sha: m.version?.sha ?? '',
  }));
}

function events(request: { tailEvents: number; withActorId?: string }): Buffer {
  return Buffer.from(toBinary(machinePb.EventsRequestSchema, create(machinePb.EventsRequestSchema, request)));
}

async function setup(t: { after(fn: () => Promise<void>): void }): Promise<{ cluster: Cluster; client(roles: string[]): Promise<Client> }> {
  const dir = mkdtempSync(join(tmpdir(), 'apid-route-'));
  const cluster = await startCluster(dir, nodes);
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

test('apid routing: nodes a,b,c merges one message per node with metadata.hostname; a failed node becomes an error entry', async (t) => {
  const { cluster, client } = await setup(t);
  const reader = await client(['os:reader']);
  const out = await callUnary(reader, VERSION, Buffer.alloc(0), md({ nodes: 'a,b,c' }));
  assert.ok(out.ok, JSON.stringify(out));
  const got = versions(out.messages[0]);
  assert.deepEqual(got.map((v) => [v.host, v.sha, v.error]), [
    ['a', 'a', ''],
    ['b', 'b', ''],
    ['c', 'c', ''],
  ]);
  // Local calls carry no proxyfrom; hops do. Every backend got the caller's role.
  assert.deepEqual(got.map((v) => v.tag.split(';')[0]), ['role=os:reader', 'role=os:reader', 'role=os:reader']);
  assert.equal(got[0]?.tag, 'role=os:reader;proxyfrom=');
  assert.match(got[1]?.tag ?? '', /proxyfrom=127\.0\.0\.\d+$/);

  await cluster.backends.get('c')?.stop();
  await cluster.apids.get('b')?.close(0);
  const again = await callUnary(reader, VERSION, Buffer.alloc(0), md({ nodes: 'a,b,c' }));
  assert.ok(again.ok);
  const merged = versions(again.messages[0]);
  assert.deepEqual(merged.map((v) => [v.host, v.sha, v.error !== '']), [
    ['a', 'a', false],
    ['b', '', true],
    ['c', '', true],
  ]);
});

test('apid routing: node b through a reaches b with proxyfrom and talos-role set', async (t) => {
  const { cluster, client } = await setup(t);
  const operator = await client(['os:operator']);
  const out = await callUnary(operator, VERSION, Buffer.alloc(0), md({ node: 'b' }));
  assert.ok(out.ok);
  const [v] = versions(out.messages[0]);
  assert.equal(v?.sha, 'b');
  assert.match(v?.tag ?? '', /^role=os:operator;proxyfrom=127\.0\.0\.\d+$/);
  assert.equal(cluster.backends.get('a')?.log.calls.length, 0);
  // Naming this node itself stays local.
  const self = await callUnary(operator, VERSION, Buffer.alloc(0), md({ node: 'a' }));
  assert.equal(self.ok && versions(self.messages[0])[0]?.tag, 'role=os:operator;proxyfrom=');
});

test('apid routing: a plain client cannot raise its roles with talos-role; an impersonator peer can', async (t) => {
  const { client } = await setup(t);
  const reader = await client(['os:reader']);
  const asAdmin = md({ 'talos-role': 'os:admin' });
  const denied = await callUnary(reader, REBOOT, Buffer.alloc(0), asAdmin);
  assert.equal(denied.ok ? 'ok' : denied.code, status.PERMISSION_DENIED);
  const v = await callUnary(reader, VERSION, Buffer.alloc(0), md({ 'talos-role': 'os:admin' }));
  assert.equal(v.ok && versions(v.messages[0])[0]?.tag, 'role=os:reader;proxyfrom=');

  const peer = await client(['os:impersonator']);
  const allowed = await callUnary(peer, REBOOT, Buffer.alloc(0), md({ 'talos-role': 'os:admin' }));
  assert.equal(allowed.ok, true);
  const pv = await callUnary(peer, VERSION, Buffer.alloc(0), md({ 'talos-role': 'os:operator' }));
  assert.equal(pv.ok && versions(pv.messages[0])[0]?.tag, 'role=os:operator;proxyfrom=');
  const bare = await callUnary(peer, VERSION, Buffer.alloc(0));
  assert.equal(bare.ok ? 'ok' : bare.code, status.PERMISSION_DENIED);
});

test('apid routing: streams relay through one hop unchanged and fan out with hostnames', async (t) => {
  const { client } = await setup(t);
  const reader = await client(['os:reader']);
  const hop = await callStream(reader, EVENTS, events({ tailEvents: 3 }), md({ node: 'c' }));
  assert.ok(hop.ok);
  const hopEvents = hop.messages.map((b) => fromBinary(machinePb.EventSchema, b));
  assert.deepEqual(hopEvents.map((e) => [e.id, e.metadata?.hostname]), [
    ['c-0', undefined],
    ['c-1', undefined],
    ['c-2', undefined],
  ]);

  const fan = await callStream(reader, EVENTS, events({ tailEvents: 2 }), md({ nodes: 'a,b,c' }));
  assert.ok(fan.ok);
  const byHost = new Map<string, string[]>();
  for (const b of fan.messages) {
    const e = fromBinary(machinePb.EventSchema, b);
    const host = e.metadata?.hostname ?? '?';
    byHost.set(host, [...(byHost.get(host) ?? []), e.id]);
  }
  assert.deepEqual(Object.fromEntries([...byHost].sort()), { a: ['a-0', 'a-1'], b: ['b-0', 'b-1'], c: ['c-0', 'c-1'] });
});

test('apid routing: a fan-out stream reports a failed node as an error message and still ends', async (t) => {
  const { cluster, client } = await setup(t);
  const reader = await client(['os:reader']);
  await cluster.backends.get('b')?.stop();
  const fan = await callStream(reader, EVENTS, events({ tailEvents: 1 }), md({ nodes: 'a,b' }));
  assert.ok(fan.ok);
  const got = fan.messages.map((b) => fromBinary(machinePb.EventSchema, b)).map((e) => [e.metadata?.hostname, e.id, (e.metadata?.error ?? '') !== '']);
  assert.deepEqual(got.sort(), [
    ['a', 'a-0', false],
    ['b', '', true],
  ]);
});

async function waitFor(cond: () => boolean, timeoutMs = 3000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

test('apid routing: cancelling a stream cancels the backend call on the far node; deadlines travel too', async (t) => {
  const { cluster, client } = await setup(t);
  const reader = await client(['os:reader']);
  const backendB = cluster.backends.get('b');
  const seen = await new Promise<number>((resolve) => {
    let n = 0;
    const s = reader.makeServerStreamRequest(EVENTS, (b: Buffer) => b, (b: Buffer) => b, events({ tailEvents: 0, withActorId: 'forever' }), md({ node: 'b' }));
    s.on('data', () => {
      if (++n === 3) {
        s.cancel();
        resolve(n);
      }
    });
    s.on('error', () => {});
  });
  assert.equal(seen, 3);
  assert.equal(await waitFor(() => backendB?.log.cancelledStreams === 1), true);

  const backendC = cluster.backends.get('c');
  const code = await new Promise<number>((resolve) => {
    const s = reader.makeServerStreamRequest(EVENTS, (b: Buffer) => b, (b: Buffer) => b, events({ tailEvents: 0, withActorId: 'forever' }), md({ nodes: 'b,c' }), {
      deadline: Date.now() + 300,
    });
    s.on('data', () => {});
    s.on('error', (e: ServiceError) => resolve(e.code));
    s.on('status', (st: { code: number }) => resolve(st.code));
  });
  assert.equal(code, status.DEADLINE_EXCEEDED);
  assert.equal(await waitFor(() => backendC?.log.cancelledStreams === 1), true);
});
