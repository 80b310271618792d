// Our HTTP/2 gRPC server, driven by grpc-js clients (and raw node:http2 where grpc-js hides the wire).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:http2';
import { connect as netConnect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Metadata, credentials, status } from '@grpc/grpc-js';
import type { ServiceError } from '@grpc/grpc-js';
import { Code, TalosError } from '@talos-ts/cosi';
import { createH2Server } from './server.ts';
import type { H2Server, ServerCall } from './server.ts';
import { frameMessage } from './wire.ts';

const id = (b: Buffer): Buffer => b;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Seen {
  signals: { path: string; reason: unknown }[];
  drains: number;
  metadata?: Map<string, unknown[]>;
}

async function start(t: { after(fn: () => unknown): void }, maxMessageBytes?: number): Promise<{ server: H2Server; client: Client; address: string; seen: Seen }> {
  const dir = mkdtempSync(join(tmpdir(), 'h2-server-'));
  const seen: Seen = { signals: [], drains: 0 };
  const server = createH2Server(maxMessageBytes === undefined ? {} : { maxMessageBytes });
  const watch = (call: ServerCall): void => {
    call.signal.addEventListener('abort', () => seen.signals.push({ path: call.path, reason: call.signal.reason }), { once: true });
  };
  server.register('/t.T/Unary', 'unary', (call) => {
    seen.metadata = call.metadata;
    const text = call.request.toString();
    if (text === 'fail') throw new TalosError(Code.FailedPrecondition, 'naïve 100% failure ✓');
    if (text === 'plain') throw new Error('plain error');
    const trace = call.metadata.get('x-trace-bin')?.[0];
    const md = new Map<string, (string | Buffer)[]>([['x-echo', [text]]]);
    if (trace !== undefined) md.set('x-echo-bin', [trace]);
    call.sendMetadata(md);
    call.write(Buffer.from(`echo:${text}`));
    call.end(new Map([['x-done-bin', [Buffer.from([0, 1, 255])]]]));
  });
  server.register('/t.T/Slow', 'unary', (call) => {
    watch(call);
    // Answers only when cancelled: the tests look at how the call ends.
  });
  server.register('/t.T/Fan', 'server_streaming', async (call) => {
    watch(call);
    const n = Number(call.request.toString());
    const payload = Buffer.alloc(16 * 1024, 7);
    for (let i = 0; i < n && !call.signal.aborted; i++) {
      payload.writeUInt32BE(i, 0);
      if (!call.write(payload)) {
        seen.drains++;
        await new Promise<void>((r) => call.onDrain(r));
      }
    }
    call.end();
  });
  server.register('/t.T/Join', 'client_streaming', async (call) => {
    const parts: string[] = [];
    for await (const m of call.messages()) parts.push(m.toString());
    call.write(Buffer.from(parts.join('+')));
    call.end();
  });
  server.register('/t.T/Chat', 'bidi_streaming', (call) => {
    call.onMessage(
      (m) => call.write(Buffer.from(m.toString().toUpperCase())),
      () => call.end(),
    );
  });
  const socket = join(dir, 's.sock');
  const address = await server.listen(`unix:${socket}`);
  const client = new Client(address, credentials.createInsecure(), { 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  t.after(async () => {
    client.close();
    await server.close(0);
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, client, address, seen };
}

function unary(client: Client, path: string, req: Buffer, md = new Metadata(), deadlineMs = 5000): Promise<{ err: ServiceError | null; res?: Buffer; headers?: Metadata; trailers?: Metadata }> {
  return new Promise((resolve) => {
    let headers: Metadata | undefined;
    let trailers: Metadata | undefined;
    let result: { err: ServiceError | null; res?: Buffer } | undefined;
    // grpc-js may run the callback before or after the 'status' event: wait for both.
    const settle = (): void => {
      if (result !== undefined && trailers !== undefined) resolve({ ...result, ...(headers ? { headers } : {}), trailers });
    };
    const call = client.makeUnaryRequest(path, id, id, req, md, { deadline: Date.now() + deadlineMs }, (err, res) => {
      result = { err, ...(res === undefined ? {} : { res }) };
      settle();
    });
    call.on('metadata', (m: Metadata) => (headers = m));
    call.on('status', (s: { metadata: Metadata }) => {
      trailers = s.metadata;
      settle();
    });
  });
}

test('h2 server: grpc-js unary call with text and -bin metadata both ways', async (t) => {
  const { client } = await start(t);
  const md = new Metadata();
  md.add('x-trace-bin', Buffer.from([9, 8, 0, 255]));
  md.add('x-multi', 'a');
  md.add('x-multi', 'b');
  const out = await unary(client, '/t.T/Unary', Buffer.from('hi'), md);
  assert.equal(out.err, null);
  assert.equal(out.res?.toString(), 'echo:hi');
  assert.equal(out.headers?.get('x-echo')[0], 'hi');
  assert.deepEqual(out.headers?.get('x-echo-bin')[0], Buffer.from([9, 8, 0, 255]));
  assert.deepEqual(out.trailers?.get('x-done-bin')[0], Buffer.from([0, 1, 255]));
});

test('h2 server: request metadata keeps repeated keys apart and decodes -bin', async (t) => {
  const { client, seen } = await start(t);
  const md = new Metadata();
  md.add('x-multi', 'a');
  md.add('x-multi', 'b, c');
  md.add('x-k-bin', Buffer.from('\u0000\u0001'));
  await unary(client, '/t.T/Unary', Buffer.from('m'), md);
  const got = seen.metadata;
  assert.ok(got !== undefined);
  assert.deepEqual(got.get('x-k-bin'), [Buffer.from([0, 1])]);
  // grpc-js itself joins repeats into one header; either way every value must survive.
  assert.deepEqual((got.get('x-multi') as string[]).join(',').split(',').map((s) => s.trim()), ['a', 'b', 'c']);
  assert.equal(got.has('content-type'), false);
  assert.equal(got.has('te'), false);
});

test('h2 server: errors keep their code and a non-ASCII message with % survives', async (t) => {
  const { client } = await start(t);
  const out = await unary(client, '/t.T/Unary', Buffer.from('fail'));
  assert.equal(out.err?.code, status.FAILED_PRECONDITION);
  assert.equal(out.err?.details, 'naïve 100% failure ✓');
  const plain = await unary(client, '/t.T/Unary', Buffer.from('plain'));
  assert.equal(plain.err?.code, status.UNKNOWN);
  assert.equal(plain.err?.details, 'plain error');
  const unknown = await unary(client, '/t.T/Nope', Buffer.from('x'));
  assert.equal(unknown.err?.code, status.UNIMPLEMENTED);
});

test('h2 server: a failure before any message is a trailers-only response', async (t) => {
  const { address } = await start(t);
  const session = connect('http://localhost', { createConnection: () => netConnect(address.slice(5)) });
  t.after(() => session.destroy());
  const req = session.request({ ':method': 'POST', ':path': '/t.T/Unary', 'content-type': 'application/grpc', te: 'trailers' });
  req.end(frameMessage(Buffer.from('fail')));
  const [headers, flags] = await new Promise<[Record<string, unknown>, number]>((r) => req.once('response', (h, f) => r([h, f])));
  assert.equal(headers['grpc-status'], String(Code.FailedPrecondition));
  assert.equal(headers['grpc-message'], 'na%C3%AFve 100%25 failure %E2%9C%93');
  // END_STREAM on the HEADERS frame: no body and no separate trailers.
  assert.equal(flags & 0x1, 0x1);
});

test('h2 server: compressed messages are refused with UNIMPLEMENTED', async (t) => {
  const { address } = await start(t);
  const session = connect('http://localhost', { createConnection: () => netConnect(address.slice(5)) });
  t.after(() => session.destroy());
  const req = session.request({ ':method': 'POST', ':path': '/t.T/Unary', 'content-type': 'application/grpc', te: 'trailers' });
  const framed = frameMessage(Buffer.from('x'));
  framed[0] = 1;
  req.end(framed);
  req.resume();
  const headers = await new Promise<Record<string, unknown>>((resolve) => {
    let got: Record<string, unknown> = {};
    req.on('response', (h) => (got = { ...got, ...h }));
    req.on('trailers', (h) => (got = { ...got, ...h }));
    req.on('close', () => resolve(got));
  });
  assert.equal(headers['grpc-status'], String(Code.Unimplemented));
});

test('h2 server: a request over the size limit gets RESOURCE_EXHAUSTED', async (t) => {
  const { client } = await start(t, 1024);
  const small = await unary(client, '/t.T/Unary', Buffer.alloc(1000, 97));
  assert.equal(small.err, null);
  const big = await unary(client, '/t.T/Unary', Buffer.alloc(2000, 97));
  assert.equal(big.err?.code, status.RESOURCE_EXHAUSTED);
});

test('h2 server: server stream of many messages to a slow reader uses flow control', async (t) => {
  const { client, seen } = await start(t);
  const n = 400;
  const got: number[] = [];
  await new Promise<void>((resolve, reject) => {
    const s = client.makeServerStreamRequest('/t.T/Fan', id, id, Buffer.from(String(n)), new Metadata(), {});
    s.on('data', (b: Buffer) => {
      got.push(b.readUInt32BE(0));
      if (got.length % 50 === 0) {
        s.pause();
        setTimeout(() => s.resume(), 20);
      }
    });
    s.on('error', reject);
    s.on('end', () => resolve());
  });
  assert.equal(got.length, n);
  assert.deepEqual(got.slice(0, 3), [0, 1, 2]);
  assert.equal(got[n - 1], n - 1);
  assert.ok(seen.drains > 0, 'the handler had to wait for the reader at least once');
});

test('h2 server: client stream and bidi', async (t) => {
  const { client } = await start(t);
  const joined = await new Promise<string>((resolve, reject) => {
    const c = client.makeClientStreamRequest('/t.T/Join', id, id, new Metadata(), {}, (err, res) => (err ? reject(err) : resolve(String(res))));
    for (const w of ['a', 'b', 'c']) c.write(Buffer.from(w));
    c.end();
  });
  assert.equal(joined, 'a+b+c');
  const chatted = await new Promise<string[]>((resolve, reject) => {
    const out: string[] = [];
    const c = client.makeBidiStreamRequest('/t.T/Chat', id, id, new Metadata(), {});
    c.on('data', (b: Buffer) => {
      out.push(b.toString());
      if (out.length === 1) {
        c.write(Buffer.from('q'));
        c.end();
      }
    });
    c.on('error', reject);
    c.on('end', () => resolve(out));
    c.write(Buffer.from('p'));
  });
  assert.deepEqual(chatted, ['P', 'Q']);
});

test('h2 server: the deadline ends the call with DEADLINE_EXCEEDED and fires the signal', async (t) => {
  const { client, seen } = await start(t);
  const out = await unary(client, '/t.T/Slow', Buffer.from('x'), new Metadata(), 150);
  assert.equal(out.err?.code, status.DEADLINE_EXCEEDED);
  for (let i = 0; i < 100 && seen.signals.length === 0; i++) await sleep(10);
  assert.equal((seen.signals[0]?.reason as TalosError | undefined)?.code, Code.DeadlineExceeded);
});

test('h2 server: a client cancel fires the handler signal', async (t) => {
  const { client, seen } = await start(t);
  const got: number[] = [];
  await new Promise<void>((resolve) => {
    const s = client.makeServerStreamRequest('/t.T/Fan', id, id, Buffer.from('100000'), new Metadata(), {});
    s.on('data', (b: Buffer) => {
      got.push(b.readUInt32BE(0));
      if (got.length === 3) s.cancel();
    });
    s.on('error', (e: ServiceError) => {
      assert.equal(e.code, status.CANCELLED);
      resolve();
    });
  });
  for (let i = 0; i < 100 && seen.signals.length === 0; i++) await sleep(10);
  const reason = seen.signals[0]?.reason as TalosError | undefined;
  assert.equal(reason?.code, Code.Canceled);
  assert.match(reason?.message ?? '', /cancelled by the client/);
});

test('h2 server: close(graceMs) lets a call finish, then cancels what is left', async (t) => {
  const { server, client, seen } = await start(t);
  const slow = unary(client, '/t.T/Slow', Buffer.from('x'), new Metadata(), 10_000);
  for (let i = 0; i < 100 && server.activeCalls === 0; i++) await sleep(10);
  assert.equal(server.activeCalls, 1);
  const t0 = Date.now();
  await server.close(200);
  assert.ok(Date.now() - t0 >= 150, 'close waited for the grace period');
  const out = await slow;
  assert.notEqual(out.err, null);
  assert.equal((seen.signals[0]?.reason as TalosError | undefined)?.code, Code.Unavailable);
  assert.equal(server.activeCalls, 0);
});
