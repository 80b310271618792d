import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { fromBinary } from '@bufbuild/protobuf';
import { machinePb } from '@talos-ts/machinery';
import { createApid } from './apid.ts';
import { callUnary, issue, makeCa, rawClient, startBackend, writeAtomic, writeCertsDir } from '../bench/fixtures.ts';
import type { Backend, Pair } from '../bench/fixtures.ts';

const root = new URL('../../..', import.meta.url).pathname;

function peerCert(address: string, caPem: string, client: { crt: string; key: string }, maxVersion: 'TLSv1.2' | 'TLSv1.3' = 'TLSv1.3'): Promise<PeerCertificate> {
  const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const s = connect({ host, port, ca: caPem, cert: client.crt, key: client.key, ALPNProtocols: ['h2'], maxVersion, checkServerIdentity: () => undefined }, () => {
      const c = s.getPeerCertificate();
      s.destroy();
      resolve(c);
    });
    s.on('error', reject);
  });
}

async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 5000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** apid's bin as its own process on ip:port, with a grpc-js client of it; everything is torn down after the test. */
function spawnApidBin(
  t: { after(fn: () => Promise<void>): void },
  o: { dir: string; ip: string; port: number; backend: Backend; caPem: string; client: Pair; extraArgs?: string[] },
) {
  const args = [join(root, 'packages/apid/bin/apid.js'), '--listen', `${o.ip}:${o.port}`, '--machined-socket', o.backend.socket, '--certs-dir', join(o.dir, 'certs'), '--node', o.ip];
  const child = spawn(process.execPath, [...args, ...(o.extraArgs ?? [])], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const grpc = rawClient(`${o.ip}:${o.port}`, { caPem: o.caPem, certPem: o.client.crt, keyPem: o.client.key });
  t.after(async () => {
    grpc.close();
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await o.backend.stop();
    rmSync(o.dir, { recursive: true, force: true });
  });
  return { args, child, exited, grpc, stderr: () => stderr };
}

test('apid certificates: a replaced server.crt/key is served to new connections without a restart; TLS 1.2 is refused', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apid-reload-'));
  const ca = await makeCa('os-ca');
  const client = await issue(ca, { cn: 'talosctl', roles: ['os:reader'], usage: ['clientAuth'] });
  writeCertsDir(join(dir, 'certs'), ca, await issue(ca, { cn: 'first', ips: ['127.0.0.6'], usage: ['serverAuth'] }));
  const backend = await startBackend(dir, 'n');
  const apid = createApid({ listen: '127.0.0.6:0', machinedSocket: backend.socket, certsDir: join(dir, 'certs'), node: 'n', certPollMs: 200 });
  const address = await apid.listen();
  const grpc = rawClient(address, { caPem: ca.crtPem, certPem: client.crt, keyPem: client.key });
  t.after(async () => {
    grpc.close();
    await apid.close(0);
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  assert.equal((await peerCert(address, ca.crtPem, client)).subject.CN, 'first');
  const before = await callUnary(grpc, '/machine.MachineService/Version', Buffer.alloc(0));
  assert.equal(before.ok, true);

  const next = await issue(ca, { cn: 'second', ips: ['127.0.0.6'], usage: ['serverAuth'] });
  writeAtomic(join(dir, 'certs', 'server.key'), next.key);
  writeAtomic(join(dir, 'certs', 'server.crt'), next.crt);
  const cn = (await waitFor(() => peerCert(address, ca.crtPem, client), (c) => c.subject.CN === 'second')).subject.CN;
  assert.equal(cn, 'second');
  // The listener and existing channel survived the swap.
  const after = await callUnary(grpc, '/machine.MachineService/Version', Buffer.alloc(0));
  assert.equal(after.ok, true);
  await assert.rejects(peerCert(address, ca.crtPem, client, 'TLSv1.2'));
});

test('apid process: the bin serves Version over mTLS and exits cleanly on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apid-proc-'));
  const ca = await makeCa('os-ca');
  writeCertsDir(join(dir, 'certs'), ca, await issue(ca, { cn: 'node', ips: ['127.0.0.7'], usage: ['serverAuth'] }));
  const client = await issue(ca, { cn: 'talosctl', roles: ['os:reader'], usage: ['clientAuth'] });
  const backend = await startBackend(dir, 'n7');
  // A port unlikely to be taken; 127.0.0.7 is ours alone in this suite.
  const port = 40000 + (process.pid % 20000);
  const { child, exited, grpc, stderr } = spawnApidBin(t, { dir, ip: '127.0.0.7', port, backend, caPem: ca.crtPem, client });
  const out = await waitFor(() => callUnary(grpc, '/machine.MachineService/Version', Buffer.alloc(0), undefined, 1000), (o) => o.ok, 20_000);
  assert.ok(out.ok, `apid did not answer: ${JSON.stringify(out)}\n${stderr()}`);
  assert.equal(fromBinary(machinePb.VersionResponseSchema, out.messages[0] ?? Buffer.alloc(0)).messages[0]?.version?.tag, 'role=os:reader;proxyfrom=');
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(stderr(), /"msg":"call".*"method":"\/machine.MachineService\/Version".*"roles":"os:reader"/);
});

test('apid python client: grpcio calls Version through apid over mTLS', async (t) => {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import grpc, google.protobuf'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip(`python3-grpcio not usable: ${probe.stderr.trim()}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'apid-py-'));
  const ca = await makeCa('os-ca');
  writeCertsDir(join(dir, 'certs'), ca, await issue(ca, { cn: 'node', ips: ['127.0.0.8'], usage: ['serverAuth'] }));
  const client = await issue(ca, { cn: 'python', roles: ['os:admin'], usage: ['clientAuth'] });
  writeFileSync(join(dir, 'client.crt'), client.crt);
  writeFileSync(join(dir, 'client.key'), client.key);
  const backend = await startBackend(dir, 'py');
  const apid = createApid({ listen: '127.0.0.8:0', machinedSocket: backend.socket, certsDir: join(dir, 'certs'), node: 'py' });
  const address = await apid.listen();
  t.after(async () => {
    await apid.close(0);
    await backend.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // Python message classes straight from our .proto files with Debian's protoc.
  const gen = spawnSync('protoc', ['-I', join(root, 'api'), '-I', '/usr/include', `--python_out=${dir}`, 'machine/machine.proto', 'common/common.proto', 'google/rpc/status.proto'], { encoding: 'utf8' });
  assert.equal(gen.status, 0, gen.stderr);
  const script = `
import sys, grpc
sys.path.insert(0, ${JSON.stringify(dir)})
from machine import machine_pb2
d = ${JSON.stringify(dir)}
creds = grpc.ssl_channel_credentials(open(d + '/certs/ca.crt', 'rb').read(), open(d + '/client.key', 'rb').read(), open(d + '/client.crt', 'rb').read())
with grpc.secure_channel(${JSON.stringify(address)}, creds) as ch:
    call = ch.unary_unary('/machine.MachineService/Version', request_serializer=None, response_deserializer=machine_pb2.VersionResponse.FromString)
    reply = call(b'', metadata=[('nodes', 'py')], timeout=10)
    m = reply.messages[0]
    print(m.metadata.hostname, m.version.tag, m.version.sha)
`;
  // Asynchronously: apid runs in this process and must keep serving while Python waits.
  const run = await promisify(execFile)(python, ['-c', script], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(run.stdout.trim(), 'py role=os:admin;proxyfrom= py');
});

test('apid process: with --wait-for-certs it starts before its certificates exist, then serves once they appear', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'apid-wait-'));
  const ca = await makeCa('os-ca');
  const client = await issue(ca, { cn: 'talosctl', roles: ['os:reader'], usage: ['clientAuth'] });
  const backend = await startBackend(dir, 'n8');
  const port = 40000 + ((process.pid + 7) % 20000);
  const { args, child, exited, grpc, stderr } = spawnApidBin(t, { dir, ip: '127.0.0.8', port, backend, caPem: ca.crtPem, client, extraArgs: ['--wait-for-certs'] });
  // Without the flag a missing certificate is an error exit.
  const plain = spawnSync(process.execPath, args, { encoding: 'utf8', timeout: 20_000 });
  assert.equal(plain.status, 1, plain.stderr);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(child.exitCode, null, `apid exited while waiting: ${stderr()}`);
  writeCertsDir(join(dir, 'certs'), ca, await issue(ca, { cn: 'node', ips: ['127.0.0.8'], usage: ['serverAuth'] }));
  const out = await waitFor(() => callUnary(grpc, '/machine.MachineService/Version', Buffer.alloc(0), undefined, 1000), (o) => o.ok, 20_000);
  assert.ok(out.ok, `apid did not answer: ${JSON.stringify(out)}\n${stderr()}`);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
});
