import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import type { Client } from '@grpc/grpc-js';
import { callStream, callUnary, issue, makeCa, rawClient, startCluster } from '../bench/fixtures.ts';

type Expect = 'ok' | 'denied' | 'unauth';
const who = ['os:admin', 'os:operator', 'os:reader', 'os:etcd:backup', 'no-cert', 'foreign-ca'] as const;

// Upstream's authorization, written out by hand: admin, operator, reader, etcd:backup, no cert, foreign CA.
const matrix: readonly [string, 'unary' | 'stream', readonly Expect[]][] = [
  ['/machine.MachineService/Version', 'unary', ['ok', 'ok', 'ok', 'denied', 'unauth', 'unauth']],
  ['/machine.MachineService/Memory', 'unary', ['ok', 'ok', 'ok', 'denied', 'unauth', 'unauth']],
  ['/machine.MachineService/ServiceList', 'unary', ['ok', 'ok', 'ok', 'denied', 'unauth', 'unauth']],
  ['/machine.MachineService/Events', 'stream', ['ok', 'ok', 'ok', 'denied', 'unauth', 'unauth']],
  ['/machine.MachineService/ApplyConfiguration', 'unary', ['ok', 'denied', 'denied', 'denied', 'unauth', 'unauth']],
  ['/machine.MachineService/Reboot', 'unary', ['ok', 'ok', 'denied', 'denied', 'unauth', 'unauth']],
  ['/machine.MachineService/Reset', 'unary', ['ok', 'denied', 'denied', 'denied', 'unauth', 'unauth']],
  ['/machine.MachineService/EtcdSnapshot', 'stream', ['ok', 'ok', 'denied', 'ok', 'unauth', 'unauth']],
  ['/machine.MachineService/EtcdMemberList', 'unary', ['ok', 'ok', 'ok', 'ok', 'unauth', 'unauth']],
  ['/cosi.resource.State/Get', 'unary', ['ok', 'ok', 'ok', 'denied', 'unauth', 'unauth']],
  ['/cosi.resource.State/Create', 'unary', ['ok', 'denied', 'denied', 'denied', 'unauth', 'unauth']],
  ['/time.TimeService/Time', 'unary', ['ok', 'ok', 'ok', 'denied', 'unauth', 'unauth']],
];

test('apid RBAC: each method × caller identity gets the outcome of the role table', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apid-rbac-'));
  const cluster = await startCluster(dir, { a: '127.0.0.2' });
  const clients = new Map<string, Client>();
  t.after(async () => {
    for (const c of clients.values()) c.close();
    await cluster[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  const address = cluster.addresses.get('a') as string;
  const caPem = cluster.ca.crtPem;
  for (const role of who.slice(0, 4)) {
    const pair = await cluster.client([role]);
    clients.set(role, rawClient(address, { caPem, certPem: pair.crt, keyPem: pair.key }));
  }
  clients.set('no-cert', rawClient(address, { caPem }));
  const foreign = await makeCa('someone-else');
  const foreignPair = await issue(foreign, { cn: 'intruder', roles: ['os:admin'], usage: ['clientAuth'] });
  clients.set('foreign-ca', rawClient(address, { caPem, certPem: foreignPair.crt, keyPem: foreignPair.key }));

  for (const [path, kind, expected] of matrix) {
    for (const [i, identity] of who.entries()) {
      await t.test(`${path} as ${identity}`, async () => {
        const client = clients.get(identity) as Client;
        const out = kind === 'unary' ? await callUnary(client, path, Buffer.alloc(0)) : await callStream(client, path, Buffer.alloc(0));
        const got: Expect | string = out.ok
          ? 'ok'
          : out.code === status.PERMISSION_DENIED
            ? 'denied'
            : out.code === status.UNAUTHENTICATED || out.code === status.UNAVAILABLE
              ? 'unauth'
              : `code ${out.code}: ${out.details}`;
        assert.equal(got, expected[i]);
      });
    }
  }
});

test('apid RBAC: a denied call names the method and the roles it needs', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apid-rbac-'));
  const cluster = await startCluster(dir, { a: '127.0.0.2' });
  const pair = await cluster.client(['os:reader']);
  const client = rawClient(cluster.addresses.get('a') as string, { caPem: cluster.ca.crtPem, certPem: pair.crt, keyPem: pair.key });
  t.after(async () => {
    client.close();
    await cluster[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  const out = await callUnary(client, '/machine.MachineService/Reset', Buffer.alloc(0));
  assert.deepEqual(out.ok ? 'ok' : [out.code, out.details], [
    status.PERMISSION_DENIED,
    '/machine.MachineService/Reset requires one of the roles os:admin; the caller has os:reader',
  ]);
  assert.equal(cluster.backends.get('a')?.log.calls.length, 0);
});
