// CPU per unary call (client and server in this one process, over a unix socket) for the four
// pairings of grpc-js and our grpc/h2 transport, with a 64-byte request and reply and two
// metadata keys. Prints one JSON object: µs of CPU (user+system) and wall p50 per call.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Metadata, Server, ServerCredentials, credentials } from '@grpc/grpc-js';
import type { ServerUnaryCall, sendUnaryData } from '@grpc/grpc-js';
import { createH2Channel, createH2Server, metadataOf } from '../src/index.ts';

const id = (b: Buffer): Buffer => b;
const PATH = '/bench.B/Echo';
const N = 3000;
const body = Buffer.alloc(64, 1);
const dir = mkdtempSync(join(tmpdir(), 'h2-bench-'));

async function grpcJsServer(socket: string): Promise<() => void> {
  const s = new Server();
  s.register(PATH, (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, call.request), id, id, 'unary');
  await new Promise<void>((resolve, reject) => s.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (e) => (e ? reject(e) : resolve())));
  return () => s.forceShutdown();
}

async function h2Server(socket: string): Promise<() => Promise<void>> {
  const s = createH2Server();
  s.register(PATH, 'unary', (call) => {
    call.write(call.request);
    call.end();
  });
  await s.listen(`unix:${socket}`);
  return () => s.close(0);
}

function grpcJsCaller(socket: string): { call: () => Promise<unknown>; close: () => void } {
  const c = new Client(`unix:${socket}`, credentials.createInsecure());
  return {
    call: () =>
      new Promise((resolve, reject) => {
        const md = new Metadata();
        md.set('node', '10.0.0.1');
        md.set('x-trace', 'abc');
        c.makeUnaryRequest(PATH, id, id, body, md, (err, res) => (err ? reject(err) : resolve(res)));
      }),
    close: () => c.close(),
  };
}

function h2Caller(socket: string): { call: () => Promise<unknown>; close: () => void } {
  const c = createH2Channel(`unix:${socket}`);
  return { call: () => c.unary(PATH, body, { metadata: metadataOf({ node: '10.0.0.1', 'x-trace': 'abc' }) }), close: () => c.close() };
}

async function measure(caller: { call: () => Promise<unknown> }): Promise<{ cpuUsPerCall: number; wallP50Us: number }> {
  for (let i = 0; i < 300; i++) await caller.call();
  const times: number[] = [];
  const cpu0 = process.cpuUsage();
  for (let i = 0; i < N; i++) {
    const t0 = performance.now();
    await caller.call();
    times.push(performance.now() - t0);
  }
  const cpu = process.cpuUsage(cpu0);
  times.sort((a, b) => a - b);
  return { cpuUsPerCall: Math.round((cpu.user + cpu.system) / N), wallP50Us: Math.round((times[Math.floor(N / 2)] ?? 0) * 1000) };
}

const results: Record<string, { cpuUsPerCall: number; wallP50Us: number }> = {};
try {
  for (const [name, server, client] of [
    ['grpcjs-to-grpcjs', grpcJsServer, grpcJsCaller],
    ['h2-to-h2', h2Server, h2Caller],
    ['h2-to-grpcjs', grpcJsServer, h2Caller],
    ['grpcjs-to-h2', h2Server, grpcJsCaller],
  ] as const) {
    const socket = join(dir, `${name}.sock`);
    const stop = await server(socket);
    const caller = client(socket);
    results[name] = await measure(caller);
    caller.close();
    await stop();
  }
  console.log(JSON.stringify({ bench: 'grpc.h2.unary', calls: N, ...results }));
} finally {
  rmSync(dir, { recursive: true, force: true });
}
