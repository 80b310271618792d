import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create, toBinary } from '@bufbuild/protobuf';
import type { ServiceError } from '@grpc/grpc-js';
import { machinePb } from '@talos-ts/machinery';
import { md, rawClient, startCluster } from '../bench/fixtures.ts';

const EVENTS = '/machine.MachineService/Events';

// A reader slower than the backend makes apid hit flow control, pause the upstream and buffer:
// every message must still arrive, in order, and the stream must end only after the last one.
async function slowRead(client: ReturnType<typeof rawClient>, request: Buffer, meta: ReturnType<typeof md>): Promise<{ count: number; error?: string }> {
  return new Promise((resolve) => {
    let count = 0;
    const s = client.makeServerStreamRequest(EVENTS, (b: Buffer) => b, (b: Buffer) => b, request, meta, { deadline: Date.now() + 60_000 });
    s.on('data', () => {
      count++;
      if (count % 200 === 0) {
        s.pause();
        setTimeout(() => s.resume(), 20);
      }
    });
    s.on('error', (err: ServiceError) => resolve({ count, error: err.details }));
    s.on('end', () => resolve({ count }));
  });
}

test('apid: long server streams reach a slow reader whole, one-to-one and one-to-many', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'apid-stream-'));
  const cluster = await startCluster(dir, { s1: '127.0.0.9', s2: '127.0.0.10' });
  try {
    const pair = await cluster.client(['os:admin']);
    const client = rawClient(cluster.addresses.get('s1') as string, { caPem: cluster.ca.crtPem, certPem: pair.crt, keyPem: pair.key });
    const n = 5000;
    const request = Buffer.from(toBinary(machinePb.EventsRequestSchema, create(machinePb.EventsRequestSchema, { tailEvents: n })));
    const direct = await slowRead(client, request, md());
    assert.deepEqual(direct, { count: n });
    const many = await slowRead(client, request, md({ nodes: 's1,s2' }));
    assert.deepEqual(many, { count: 2 * n });
    client.close();
  } finally {
    await cluster[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  }
});
