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
import type { H2Server, H2ServerOptions, ServerCall } from './server.ts';
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

/** A server on a unix socket with the given limits and two methods: Hold (answers when cancelled) and Echo. */
async function limited(t: { after(fn: () => unknown): void }, options: H2ServerOptions): Promise<{ server: H2Server; socket: string; held: ServerCall[]; ran: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'h2-limits-'));
  const server = createH2Server(options);
  const held: ServerCall[] = [];
  const ran: string[] = [];
  server.register('/t.T/Hold', 'server_streaming', (call) => {
    held.push(call);
    ran.push(call.path);
  });
  server.register('/t.T/Echo', 'unary', (call) => {
    ran.push(call.path);
    call.write(call.request);
    call.end();
  });
  const socket = join(dir, 's.sock');
  await server.listen(`unix:${socket}`);
  t.after(async () => {
    await server.close(0);
    rmSync(dir, { recursive: true, force: true });
  });
  return { server, socket, held, ran };
}

async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(5);
}

/** A request that announces a `announced`-byte message, sends `sent` bytes of it and never ends. */
function openEndedRequest(session: ReturnType<typeof connect>, path: string, announced: number, sent: number): ReturnType<ReturnType<typeof connect>['request']> {
  const req = session.request({ ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers' });
  const head = Buffer.alloc(5);
  head.writeUInt32BE(announced, 1);
  req.write(head);
  req.write(Buffer.alloc(sent, 1));
  req.on('error', () => {});
  req.resume();
  return req;
}

test('h2 server: a call refused by admit is answered on its headers, before its body is read, and its stream is reset', { timeout: 10_000 }, async (t) => {
  const { socket, ran } = await limited(t, {
    maxMessageBytes: 64 * 1024 * 1024,
    admit: (call) => {
      if (call.metadata.get('x-role') === undefined) throw new TalosError(Code.PermissionDenied, 'no role');
    },
  });
  const session = connect('http://localhost', { createConnection: () => netConnect(socket) });
  t.after(() => session.destroy());
  // 31 MiB announced, 1 MiB sent, no end: only a refusal on the headers can answer this.
  const req = openEndedRequest(session, '/t.T/Echo', 31 * 1024 * 1024, 1024 * 1024);
  const headers = await new Promise<Record<string, unknown>>((r) => req.once('response', (h) => r(h)));
  assert.equal(headers['grpc-status'], String(Code.PermissionDenied));
  await new Promise<void>((r) => req.once('close', () => r()));
  assert.equal(req.rstCode, 0, 'RST_STREAM NO_ERROR: stop sending');
  assert.deepEqual(ran, []);
});

test('h2 server: an unknown method is refused at once and the stream is reset so its body is dropped', { timeout: 10_000 }, async (t) => {
  const { socket } = await limited(t, {});
  const session = connect('http://localhost', { createConnection: () => netConnect(socket) });
  t.after(() => session.destroy());
  const req = openEndedRequest(session, '/t.T/Nope', 1024 * 1024, 256 * 1024);
  const headers = await new Promise<Record<string, unknown>>((r) => req.once('response', (h) => r(h)));
  assert.equal(headers['grpc-status'], String(Code.Unimplemented));
  await new Promise<void>((r) => req.once('close', () => r()));
});

test('h2 server: SETTINGS cap the streams of one connection; a call over the cap waits for a slot', { timeout: 10_000 }, async (t) => {
  const { socket, held, ran } = await limited(t, { maxConcurrentStreams: 2 });
  const session = connect('http://localhost', { createConnection: () => netConnect(socket) });
  t.after(() => session.destroy());
  await new Promise<void>((r) => session.once('remoteSettings', () => r()));
  assert.equal(session.remoteSettings.maxConcurrentStreams, 2);
  const reqs = [0, 1, 2].map(() => {
    const req = session.request({ ':method': 'POST', ':path': '/t.T/Hold', 'content-type': 'application/grpc', te: 'trailers' });
    req.on('error', () => {});
    req.end(frameMessage(Buffer.from('x')));
    return req;
  });
  await until(() => held.length === 2);
  // The third is queued by the client until a stream closes; end one and it comes in.
  held[0]?.end();
  await until(() => held.length === 3);
  assert.equal(ran.length, 3);
  for (const c of held) c.end();
  await Promise.all(reqs.map((r) => new Promise<void>((res) => (r.closed ? res() : r.once('close', () => res())))));
});

test('h2 server: a connection that never sends the HTTP/2 preface is closed after handshakeTimeoutMs', { timeout: 10_000 }, async (t) => {
  const { socket, server } = await limited(t, { handshakeTimeoutMs: 100 });
  const raw = netConnect(socket);
  raw.on('error', () => {});
  // Read what the server sends (its SETTINGS), or the end of the stream is never seen.
  raw.resume();
  await new Promise<void>((r) => raw.once('close', () => r()));
  await until(() => server.connections === 0);
});

test('h2 server: connections over maxConnections are closed on arrival; those under it stay', { timeout: 10_000 }, async (t) => {
  const { socket, server } = await limited(t, { maxConnections: 2, handshakeTimeoutMs: 60_000 });
  const open = (): ReturnType<typeof netConnect> => {
    const c = netConnect(socket);
    c.on('error', () => {});
    t.after(() => c.destroy());
    return c;
  };
  const [a, b] = [open(), open()];
  // Each has a session once the server's SETTINGS arrive.
  await Promise.all([a, b].map((x) => new Promise<void>((r) => x.once('data', () => r()))));
  const c = open();
  c.resume();
  await new Promise<void>((r) => c.once('close', () => r()));
  assert.equal(a.destroyed || b.destroyed, false);
  assert.equal(server.connections, 2);
});

test('h2 server: a connection with no call for idleTimeoutMs gets GOAWAY; one holding a call is kept', { timeout: 10_000 }, async (t) => {
  const { socket, held } = await limited(t, { idleTimeoutMs: 150 });
  const busy = connect('http://localhost', { createConnection: () => netConnect(socket) });
  const idle = connect('http://localhost', { createConnection: () => netConnect(socket) });
  t.after(() => {
    busy.destroy();
    idle.destroy();
  });
  busy.on('error', () => {});
  idle.on('error', () => {});
  const req = busy.request({ ':method': 'POST', ':path': '/t.T/Hold', 'content-type': 'application/grpc', te: 'trailers' });
  req.on('error', () => {});
  req.end(frameMessage(Buffer.from('x')));
  await until(() => held.length === 1);
  await new Promise<void>((r) => idle.once('goaway', () => r()));
  assert.equal(busy.closed || busy.destroyed, false);
  // Its call ends: now it is idle too, and goes.
  held[0]?.end();
  await new Promise<void>((r) => busy.once('goaway', () => r()));
});
