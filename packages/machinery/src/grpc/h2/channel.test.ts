// Our HTTP/2 gRPC channel against a grpc-js server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, Server, ServerCredentials, status } from '@grpc/grpc-js';
import type { ServerDuplexStream, ServerReadableStream, ServerUnaryCall, ServerWritableStream, sendUnaryData } from '@grpc/grpc-js';
import { Code, hasCode } from '@talos-ts/cosi';
import { createH2Channel } from './channel.ts';
import type { H2Channel } from './channel.ts';
import { metadataOf } from './wire.ts';

const id = (b: Buffer): Buffer => b;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Seen {
  cancelled: string[];
  writesBlocked: number;
  metadata?: Metadata;
}

async function start(t: { after(fn: () => unknown): void }, maxMessageBytes?: number): Promise<{ channel: H2Channel; seen: Seen }> {
  const dir = mkdtempSync(join(tmpdir(), 'h2-channel-'));
  const seen: Seen = { cancelled: [], writesBlocked: 0 };
  const server = new Server({ 'grpc.max_receive_message_length': 64 * 1024 * 1024, 'grpc.max_send_message_length': 64 * 1024 * 1024 });
  server.register(
    '/t.T/Unary',
    (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      seen.metadata = call.metadata;
      const text = call.request.toString();
      if (text === 'fail') {
        cb({ code: status.FAILED_PRECONDITION, details: 'naïve 100% failure ✓' });
        return;
      }
      if (text === 'big') {
        cb(null, Buffer.alloc(4096, 1));
        return;
      }
      const md = new Metadata();
      md.set('x-echo', text);
      const bin = call.metadata.get('x-trace-bin')[0];
      if (bin !== undefined) md.set('x-echo-bin', bin);
      call.sendMetadata(md);
      const trailers = new Metadata();
      trailers.set('x-done-bin', Buffer.from([0, 1, 255]));
      cb(null, Buffer.from(`echo:${text}`), trailers);
    },
    id,
    id,
    'unary',
  );
  server.register(
    '/t.T/Slow',
    (call: ServerUnaryCall<Buffer, Buffer>) => {
      call.on('cancelled', () => seen.cancelled.push('slow'));
    },
    id,
    id,
    'unary',
  );
  server.register(
    '/t.T/Fan',
    (call: ServerWritableStream<Buffer, Buffer>) => {
      const n = Number(call.request.toString());
      let i = 0;
      let stop = false;
      call.on('cancelled', () => {
        stop = true;
        seen.cancelled.push('fan');
      });
      const payload = Buffer.alloc(16 * 1024, 7);
      const more = (): void => {
        while (i < n && !stop) {
          const b = Buffer.from(payload);
          b.writeUInt32BE(i++, 0);
          if (!call.write(b)) {
            seen.writesBlocked++;
            call.once('drain', more);
            return;
          }
        }
        if (!stop) call.end();
      };
      more();
    },
    id,
    id,
    'serverStream',
  );
  server.register(
    '/t.T/Join',
    (call: ServerReadableStream<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
      const parts: string[] = [];
      call.on('data', (b: Buffer) => parts.push(b.toString()));
      call.on('end', () => cb(null, Buffer.from(parts.join('+'))));
    },
    id,
    id,
    'clientStream',
  );
  server.register(
    '/t.T/Chat',
    (call: ServerDuplexStream<Buffer, Buffer>) => {
      call.on('data', (b: Buffer) => call.write(Buffer.from(b.toString().toUpperCase())));
      call.on('end', () => call.end());
    },
    id,
    id,
    'bidi',
  );
  const socket = join(dir, 's.sock');
  await new Promise<void>((resolve, reject) => server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
  const channel = createH2Channel(`unix:${socket}`, maxMessageBytes === undefined ? {} : { maxMessageBytes });
  t.after(() => {
    channel.close();
    server.forceShutdown();
    rmSync(dir, { recursive: true, force: true });
  });
  return { channel, seen };
}

async function* texts(...xs: string[]): AsyncIterable<Buffer> {
  for (const x of xs) yield Buffer.from(x);
}

test('h2 channel: unary against grpc-js with headers, trailers and -bin metadata', async (t) => {
  const { channel, seen } = await start(t);
  assert.equal((await channel.unary('/t.T/Unary', Buffer.from('hi'))).toString(), 'echo:hi');
  const got = await new Promise<{ msgs: string[]; code: number; trailers: Map<string, unknown[]> }>((resolve) => {
    const msgs: string[] = [];
    const call = channel.start(
      '/t.T/Unary',
      { onMessage: (m) => msgs.push(m.toString()), onStatus: (s) => resolve({ msgs, code: s.code, trailers: s.metadata }) },
      { metadata: metadataOf({ 'x-trace-bin': Buffer.from([9, 0, 255]), 'x-multi': ['a', 'b'] }) },
    );
    call.write(Buffer.from('yo'));
    call.end();
  });
  assert.deepEqual(got.msgs, ['echo:yo']);
  assert.equal(got.code, 0);
  assert.deepEqual(got.trailers.get('x-done-bin'), [Buffer.from([0, 1, 255])]);
  assert.deepEqual(seen.metadata?.get('x-trace-bin'), [Buffer.from([9, 0, 255])]);
  assert.deepEqual(seen.metadata?.get('x-multi').join(',').split(',').map((s) => String(s).trim()), ['a', 'b']);
});

test('h2 channel: a grpc-js error status becomes a TalosError with the code and decoded message', async (t) => {
  const { channel } = await start(t);
  await assert.rejects(channel.unary('/t.T/Unary', Buffer.from('fail')), (e) => hasCode(e, Code.FailedPrecondition) && e.message === 'naïve 100% failure ✓');
  await assert.rejects(channel.unary('/t.T/Missing', Buffer.from('x')), (e) => hasCode(e, Code.Unimplemented));
});

test('h2 channel: a reply over the size limit gets RESOURCE_EXHAUSTED', async (t) => {
  const { channel } = await start(t, 1024);
  assert.equal((await channel.unary('/t.T/Unary', Buffer.from('ok'))).toString(), 'echo:ok');
  await assert.rejects(channel.unary('/t.T/Unary', Buffer.from('big')), (e) => hasCode(e, Code.ResourceExhausted));
});

test('h2 channel: a slow reader of a long server stream gets every message in order', async (t) => {
  const { channel, seen } = await start(t);
  const n = 400;
  let expect = 0;
  for await (const m of channel.serverStream('/t.T/Fan', Buffer.from(String(n)))) {
    assert.equal(m.readUInt32BE(0), expect++);
    if (expect % 50 === 0) await sleep(20);
  }
  assert.equal(expect, n);
  assert.ok(seen.writesBlocked > 0, 'the grpc-js server had to wait for us at least once');
});

test('h2 channel: client stream and bidi against grpc-js', async (t) => {
  const { channel } = await start(t);
  assert.equal((await channel.clientStream('/t.T/Join', texts('a', 'b', 'c'))).toString(), 'a+b+c');
  const out: string[] = [];
  for await (const m of channel.bidi('/t.T/Chat', texts('p', 'q', 'r'))) out.push(m.toString());
  assert.deepEqual(out, ['P', 'Q', 'R']);
});

test('h2 channel: the deadline is sent as grpc-timeout and ends the call with DEADLINE_EXCEEDED', async (t) => {
  const { channel, seen } = await start(t);
  const t0 = Date.now();
  await assert.rejects(channel.unary('/t.T/Slow', Buffer.from('x'), { timeoutMs: 150 }), (e) => hasCode(e, Code.DeadlineExceeded));
  assert.ok(Date.now() - t0 < 3000);
  for (let i = 0; i < 100 && seen.cancelled.length === 0; i++) await sleep(10);
  assert.deepEqual(seen.cancelled, ['slow']);
});

test('h2 channel: aborting the signal cancels the call on the server', async (t) => {
  const { channel, seen } = await start(t);
  const ac = new AbortController();
  let got = 0;
  await assert.rejects(
    (async () => {
      for await (const _ of channel.serverStream('/t.T/Fan', Buffer.from('100000'), { signal: ac.signal })) {
        if (++got === 3) ac.abort();
      }
    })(),
    (e) => hasCode(e, Code.Canceled),
  );
  for (let i = 0; i < 100 && seen.cancelled.length === 0; i++) await sleep(10);
  assert.deepEqual(seen.cancelled, ['fan']);
  // Breaking out of a loop early cancels too.
  for await (const _ of channel.serverStream('/t.T/Fan', Buffer.from('100000'))) break;
  for (let i = 0; i < 100 && seen.cancelled.length < 2; i++) await sleep(10);
  assert.deepEqual(seen.cancelled, ['fan', 'fan']);
});

test('h2 channel: the connection is re-dialled after the server went away', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'h2-redial-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const socket = join(dir, 's.sock');
  const serve = async (): Promise<Server> => {
    const s = new Server();
    s.register('/t.T/Unary', (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, call.request), id, id, 'unary');
    await new Promise<void>((resolve, reject) => s.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
    return s;
  };
  const channel = createH2Channel(`unix:${socket}`);
  t.after(() => channel.close());
  await assert.rejects(channel.unary('/t.T/Unary', Buffer.from('x')), (e) => hasCode(e, Code.Unavailable));
  const first = await serve();
  assert.equal((await channel.unary('/t.T/Unary', Buffer.from('one'))).toString(), 'one');
  first.forceShutdown();
  await sleep(50);
  const second = await serve();
  t.after(() => second.forceShutdown());
  assert.equal((await channel.unary('/t.T/Unary', Buffer.from('two'))).toString(), 'two');
});

test('h2 channel: drain lets a call in flight finish and refuses new ones', async (t) => {
  const { channel } = await start(t);
  let got = 0;
  for await (const _ of channel.serverStream('/t.T/Fan', Buffer.from('200'))) {
    if (++got === 1) channel.drain();
  }
  assert.equal(got, 200);
  await assert.rejects(channel.unary('/t.T/Unary', Buffer.from('x')), (e) => hasCode(e, Code.Unavailable));
});

test('h2 channel: a status the server sent is not local; one made here on a connection failure is', async (t) => {
  const { channel } = await start(t);
  const statusOf = (ch: H2Channel, text: string): Promise<{ code: number; local?: boolean }> =>
    new Promise((resolve) => {
      const call = ch.start('/t.T/Unary', { onStatus: (s) => resolve(s) });
      call.write(Buffer.from(text));
      call.end();
    });
  const sent = await statusOf(channel, 'fail');
  assert.equal(sent.code, Code.FailedPrecondition);
  assert.notEqual(sent.local, true);
  const dir = mkdtempSync(join(tmpdir(), 'h2-channel-none-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const nowhere = createH2Channel(`unix:${join(dir, 'none.sock')}`);
  t.after(() => nowhere.close());
  const made = await statusOf(nowhere, 'x');
  assert.equal(made.code, Code.Unavailable);
  assert.equal(made.local, true);
});
