// The channel's connect deadline and keepalive against connections that go silent: a relay that
// stops moving bytes (a black-holed path: TCP stays up, nothing answers) and a listener that
// accepts but never completes TLS. Loopback 127.0.32.1 only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { Code } from '@talos-ts/cosi';
import { createH2Channel } from './channel.ts';
import type { CallStatus, H2ChannelOptions } from './channel.ts';

const HOST = '127.0.32.1';
const id = (b: Buffer): Buffer => b;

/** A grpc-js server whose /t.T/Hang never answers and /t.T/Echo echoes. */
async function grpcServer(t: { after(fn: () => unknown): void }): Promise<number> {
  const server = new Server();
  server.register('/t.T/Hang', () => undefined, id, id, 'unary');
  server.register('/t.T/Echo', (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, call.request), id, id, 'unary');
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(`${HOST}:0`, ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))));
  t.after(() => server.forceShutdown());
  return port;
}

/** A TCP relay to `port`; `freeze()` stops moving bytes both ways while every socket stays open. */
async function relay(t: { after(fn: () => unknown): void }, port: number): Promise<{ port: number; freeze(): void }> {
  const sockets: Socket[] = [];
  const server: NetServer = createServer((client) => {
    const upstream = new (client.constructor as typeof Socket)();
    upstream.connect(port, HOST);
    sockets.push(client, upstream);
    client.on('error', () => undefined);
    upstream.on('error', () => undefined);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  return {
    port: (server.address() as AddressInfo).port,
    freeze: () => {
      for (const s of sockets) {
        s.unpipe();
        s.pause();
      }
    },
  };
}

/** Starts a unary call and resolves with its status (or `undefined` if none came within `boundMs`). */
function statusWithin(channel: ReturnType<typeof createH2Channel>, path: string, boundMs: number): Promise<CallStatus | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), boundMs);
    const call = channel.start(path, {
      onStatus: (s) => {
        clearTimeout(timer);
        resolve(s);
      },
    });
    call.write(Buffer.from('x'));
    call.end();
  });
}

const keepalive: H2ChannelOptions['keepalive'] = { intervalMs: 100, timeoutMs: 200 };

test('h2 channel bounds: a call on a connection whose path went silent ends UNAVAILABLE once a keepalive PING goes unanswered', async (t) => {
  const r = await relay(t, await grpcServer(t));
  const channel = createH2Channel(`${HOST}:${r.port}`, { plaintext: true, keepalive });
  t.after(() => channel.close());
  // The connection works first, so the call below rides an established connection.
  assert.equal((await channel.unary('/t.T/Echo', Buffer.from('up'))).toString(), 'up');
  r.freeze();
  const started = performance.now();
  const status = await statusWithin(channel, '/t.T/Hang', 5000);
  const took = performance.now() - started;
  assert.ok(status !== undefined, 'the call ended');
  assert.equal(status.code, Code.Unavailable);
  assert.equal(status.local, true);
  assert.match(status.message, /keepalive PING/);
  assert.ok(took < 2000, `ended after ${Math.round(took)} ms`);
});

test('h2 channel bounds: without keepalive the same call is still hanging after a second (what the bound fixes)', async (t) => {
  const r = await relay(t, await grpcServer(t));
  const channel = createH2Channel(`${HOST}:${r.port}`, { plaintext: true });
  t.after(() => channel.close());
  assert.equal((await channel.unary('/t.T/Echo', Buffer.from('up'))).toString(), 'up');
  r.freeze();
  assert.equal(await statusWithin(channel, '/t.T/Hang', 1000), undefined);
});

test('h2 channel bounds: a slow answer on a live connection is not cut by the keepalive', async (t) => {
  const port = await grpcServer(t);
  const channel = createH2Channel(`${HOST}:${port}`, { plaintext: true, keepalive });
  t.after(() => channel.close());
  // Several PING rounds pass while the call waits; the server answers them, so the call lives on
  // until its own deadline.
  const call = await new Promise<CallStatus>((resolve) => {
    const c = channel.start('/t.T/Hang', { onStatus: resolve }, { timeoutMs: 1000 });
    c.write(Buffer.from('x'));
    c.end();
  });
  assert.equal(call.code, Code.DeadlineExceeded);
});

test('h2 channel bounds: a listener that accepts but never completes TLS fails the call after the connect timeout, and the next call dials again', async (t) => {
  let accepted = 0;
  const held: Socket[] = [];
  const server = createServer((s) => {
    accepted++;
    held.push(s);
  });
  await new Promise<void>((resolve) => server.listen(0, HOST, resolve));
  t.after(() => {
    for (const s of held) s.destroy();
    server.close();
  });
  const channel = createH2Channel(`${HOST}:${(server.address() as AddressInfo).port}`, { tls: { insecureSkipVerify: true }, connectTimeoutMs: 300 });
  t.after(() => channel.close());
  const started = performance.now();
  const status = await statusWithin(channel, '/t.T/Echo', 5000);
  assert.ok(status !== undefined, 'the call ended');
  assert.equal(status.code, Code.Unavailable);
  assert.match(status.message, /no connection to .* within 300 ms/);
  assert.ok(performance.now() - started < 2000);
  const again = await statusWithin(channel, '/t.T/Echo', 5000);
  assert.equal(again?.code, Code.Unavailable);
  assert.equal(accepted, 2, 'a fresh connection for the second call');
});
