import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import { grpcHealthCheck } from './grpc-health.ts';

function healthServer(status: number): ServiceDefinition {
  return {
    Check: {
      path: '/grpc.health.v1.Health/Check',
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: () => Buffer.from([0x08, status]),
      responseDeserialize: (b: Buffer) => b,
    },
  } as unknown as ServiceDefinition;
}

for (const [status, ok] of [[1, true], [2, false]] as const) {
  test(`grpcHealthCheck: status ${status} over a unix socket ${ok ? 'passes' : 'fails'}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'health-'));
    const server = new Server();
    server.addService(healthServer(status), { Check: (_call: unknown, cb: (e: null, r: Buffer) => void) => cb(null, Buffer.alloc(0)) });
    const sock = `unix://${join(dir, 's.sock')}`;
    await new Promise<void>((res, rej) => server.bindAsync(sock, ServerCredentials.createInsecure(), (e) => (e ? rej(e) : res())));
    try {
      const p = grpcHealthCheck(sock, AbortSignal.timeout(5000));
      if (ok) await p;
      else await assert.rejects(p, /health status 2/);
    } finally {
      server.forceShutdown();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
