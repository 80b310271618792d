import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create } from '@bufbuild/protobuf';
import { Code, hasCode } from '@talos-ts/cosi';
import { allRoles, machinePb, type CallContext, type Role } from '@talos-ts/machinery';
import type { Principal } from './authz.ts';
import { implement } from './implement.ts';
import { createUpgradeService, type UpgradeBackend, type UpgradeOrder } from './upgrade-service.ts';

const upgradeMethod = machinePb.MachineService.method.upgrade;
const rollbackMethod = machinePb.MachineService.method.rollback;

function ctx(method: CallContext['method']): CallContext {
  return { signal: new AbortController().signal, metadata: new Map() as unknown as CallContext['metadata'], peer: 'unix', peerCertificate: undefined, method };
}

/** A node's upgrade side that records what the API asked of it. */
function recordingBackend(mode: string): UpgradeBackend & { orders: UpgradeOrder[]; signals: AbortSignal[]; rollbacks: number } {
  const b = {
    orders: [] as UpgradeOrder[],
    signals: [] as AbortSignal[],
    rollbacks: 0,
    platformMode: () => mode,
    upgrade: (order: UpgradeOrder, signal: AbortSignal) => {
      b.orders.push(order);
      b.signals.push(signal);
      return Promise.resolve('actor-1');
    },
    rollback: () => {
      b.rollbacks++;
      return Promise.resolve();
    },
  };
  return b;
}

function service(backend: UpgradeBackend, roles: readonly Role[]) {
  const principal: Principal = { kind: 'roles', roles: new Set(roles) };
  return implement(machinePb.MachineService, createUpgradeService(backend), () => principal);
}

const request = (image: string) => create(machinePb.UpgradeRequestSchema, { image, preserve: true, stage: false, force: true });

test('upgrade on metal with an image directory URL answers upstream\'s ack and the actor id, and hands the order on', async () => {
  const backend = recordingBackend('metal');
  const call = ctx(upgradeMethod);
  const res = await service(backend, ['os:admin']).upgrade(request('http://127.0.29.1:8080/b/'), call);
  // The request's signal bounds a control plane's wait for another one's upgrade.
  assert.equal(backend.signals[0], call.signal);
  assert.deepEqual(res, { messages: [{ ack: 'Upgrade request received', actorId: 'actor-1' }] });
  assert.deepEqual(backend.orders, [{ source: { kind: 'http', url: 'http://127.0.29.1:8080/b/' }, preserve: true, stage: false, force: true }]);
});

test('upgrade and rollback are refused in container mode with FailedPrecondition, and nothing is started', async () => {
  const backend = recordingBackend('container');
  const s = service(backend, ['os:admin']);
  await assert.rejects(Promise.resolve().then(() => s.upgrade(request('http://127.0.29.1/b/'), ctx(upgradeMethod))), (e) => hasCode(e, Code.FailedPrecondition) && /container mode/.test((e as Error).message));
  await assert.rejects(Promise.resolve().then(() => s.rollback(create(machinePb.RollbackRequestSchema), ctx(rollbackMethod))), (e) => hasCode(e, Code.FailedPrecondition));
  assert.equal(backend.orders.length + backend.rollbacks, 0);
});

test('an OCI reference is handed on as the upgrade source; an empty or malformed one is InvalidArgument before the node is asked anything', async () => {
  const backend = recordingBackend('metal');
  const s = service(backend, ['os:admin']);
  await s.upgrade(request('127.0.36.1:5000/talos/installer:v0.2'), ctx(upgradeMethod));
  assert.deepEqual(backend.orders.map((o) => o.source), [{ kind: 'oci', reference: '127.0.36.1:5000/talos/installer:v0.2' }]);
  await assert.rejects(Promise.resolve().then(() => s.upgrade(request(''), ctx(upgradeMethod))), (e) => hasCode(e, Code.InvalidArgument));
  await assert.rejects(Promise.resolve().then(() => s.upgrade(request('ghcr.io/Bad/installer:v1'), ctx(upgradeMethod))), (e) => hasCode(e, Code.InvalidArgument));
  assert.equal(backend.orders.length, 1);
});

test('only os:admin may upgrade or roll back; every other role is PermissionDenied', async () => {
  for (const role of allRoles) {
    const backend = recordingBackend('metal');
    const s = service(backend, [role]);
    const up = Promise.resolve().then(() => s.upgrade(request('http://127.0.29.1/b/'), ctx(upgradeMethod)));
    const back = Promise.resolve().then(() => s.rollback(create(machinePb.RollbackRequestSchema), ctx(rollbackMethod)));
    if (role === 'os:admin') {
      await up;
      await back;
      assert.equal(backend.orders.length + backend.rollbacks, 2, role);
    } else {
      await assert.rejects(up, (e) => hasCode(e, Code.PermissionDenied), role);
      await assert.rejects(back, (e) => hasCode(e, Code.PermissionDenied), role);
      assert.equal(backend.orders.length + backend.rollbacks, 0, role);
    }
  }
});

test('a node without an upgrade or rollback body answers Unimplemented', async () => {
  const s = service({ platformMode: () => 'metal' }, ['os:admin']);
  await assert.rejects(Promise.resolve().then(() => s.upgrade(request('http://127.0.29.1/b/'), ctx(upgradeMethod))), (e) => hasCode(e, Code.Unimplemented));
  await assert.rejects(Promise.resolve().then(() => s.rollback(create(machinePb.RollbackRequestSchema), ctx(rollbackMethod))), (e) => hasCode(e, Code.Unimplemented));
});
