import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { create } from '@bufbuild/protobuf';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import { machinePb, type CallContext, type Role } from '@talos-ts/machinery';
import { metaPartition } from '../linux/meta-partition.ts';
import { MetaStore } from '../meta/store.ts';
import type { Principal } from './authz.ts';
import { implement } from './implement.ts';
import { createMetaService } from './meta-service.ts';

const writeMethod = machinePb.MachineService.method.metaWrite;
const deleteMethod = machinePb.MachineService.method.metaDelete;

function ctx(method: CallContext['method']): CallContext {
  return { signal: new AbortController().signal, metadata: new Map() as unknown as CallContext['metadata'], peer: 'unix', peerCertificate: undefined, method };
}

function setup(t: { after: (fn: () => void) => void }, mode: string, roles: readonly Role[] = ['os:admin']) {
  const dir = mkdtempSync(join(tmpdir(), 'meta-service-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'META');
  writeFileSync(path, Buffer.alloc(1024 * 1024));
  const meta = new MetaStore({ device: metaPartition(path), logger: nullLogger });
  const principal: Principal = { kind: 'roles', roles: new Set(roles) };
  return { path, meta, svc: implement(machinePb.MachineService, createMetaService({ platformMode: () => mode, meta }), () => principal) };
}

const write = (key: number, value: string) => create(machinePb.MetaWriteRequestSchema, { key, value: Buffer.from(value) });

test('MetaWrite then MetaDelete on metal: the key reaches the partition and goes again', async (t) => {
  const { path, svc } = setup(t, 'metal');
  assert.deepEqual(await svc.metaWrite(write(0x0a, 'hello'), ctx(writeMethod)), { messages: [{}] });
  assert.equal(new MetaStore({ device: metaPartition(path), logger: nullLogger }).read(0x0a), 'hello');
  await svc.metaDelete(create(machinePb.MetaDeleteRequestSchema, { key: 0x0a }), ctx(deleteMethod));
  assert.deepEqual(new MetaStore({ device: metaPartition(path), logger: nullLogger }).tags(), []);
});

test('META calls: container mode is FailedPrecondition, a key past a byte InvalidArgument, a missing key NotFound, os:reader PermissionDenied', async (t) => {
  const container = setup(t, 'container');
  await assert.rejects(Promise.resolve().then(() => container.svc.metaWrite(write(1, 'x'), ctx(writeMethod))), (e) => hasCode(e, Code.FailedPrecondition) && /not supported in container mode/.test((e as Error).message));
  const metal = setup(t, 'metal');
  await assert.rejects(Promise.resolve().then(() => metal.svc.metaWrite(write(256, 'x'), ctx(writeMethod))), (e) => hasCode(e, Code.InvalidArgument) && /key must be a uint8/.test((e as Error).message));
  await assert.rejects(Promise.resolve().then(() => metal.svc.metaDelete(create(machinePb.MetaDeleteRequestSchema, { key: 9 }), ctx(deleteMethod))), (e) => hasCode(e, Code.NotFound) && /meta key not found/.test((e as Error).message));
  const reader = setup(t, 'metal', ['os:reader']);
  await assert.rejects(Promise.resolve().then(() => reader.svc.metaWrite(write(1, 'x'), ctx(writeMethod))), (e) => hasCode(e, Code.PermissionDenied));
  assert.deepEqual(metal.meta.tags(), []);
});
