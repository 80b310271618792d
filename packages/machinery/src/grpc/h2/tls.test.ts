// TLS 1.3 with client certificates: our server and channel against each other and against grpc-js.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as netConnect } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import { Client, Metadata, Server } from '@grpc/grpc-js';
import type { ServerUnaryCall, ServiceError, sendUnaryData } from '@grpc/grpc-js';
import { Code, hasCode } from '@talos-ts/cosi';
import { ReloadableServerCredentials, tlsChannel } from '../tls.ts';
import { createH2Channel } from './channel.ts';
import { createH2Server } from './server.ts';
import type { H2Server } from './server.ts';

const id = (b: Buffer): Buffer => b;

/** Two CAs made with openssl: ca1 signs server/client, ca2 signs a second server and a foreign client. */
function makePki(): { dir: string; read(name: string): Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'h2-tls-'));
  const ossl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  };
  for (const ca of ['ca1', 'ca2']) {
    ossl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`, '-subj', `/CN=${ca}`, '-days', '1');
  }
  const leaves = [
    ['server1', 'ca1', '/CN=server', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['server2', 'ca2', '/CN=server-2', 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth'],
    ['client1', 'ca1', '/O=os:admin/CN=talosctl', 'extendedKeyUsage=clientAuth'],
    ['client2', 'ca2', '/O=os:admin/CN=intruder', 'extendedKeyUsage=clientAuth'],
  ] as const;
  for (const [name, ca, subj, ext] of leaves) {
    writeFileSync(join(dir, `${name}.ext`), `${ext}\n`);
    ossl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subj);
    ossl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '1', '-extfile', `${name}.ext`);
  }
  return { dir, read: (name) => readFileSync(join(dir, name)) };
}

const pki = makePki();
test.after(() => rmSync(pki.dir, { recursive: true, force: true }));
const r = pki.read;

async function startServer(t: { after(fn: () => unknown): void }): Promise<{ server: H2Server; address: string; certs: (PeerCertificate | undefined)[]; sessions: object[] }> {
  const server = createH2Server({ tls: { certPem: r('server1.crt'), keyPem: r('server1.key'), caPem: r('ca1.crt'), requireClientCert: true } });
  const certs: (PeerCertificate | undefined)[] = [];
  const sessions: object[] = [];
  server.register('/t.T/Who', 'unary', (call) => {
    certs.push(call.peerCertificate);
    sessions.push(call.session);
    call.write(Buffer.from(String(call.peerCertificate?.subject.CN ?? 'nobody')));
    call.end();
  });
  const address = await server.listen('127.0.0.1:0');
  t.after(() => server.close(0));
  return { server, address, certs, sessions };
}

function grpcJsUnary(client: Client, path: string): Promise<{ err: ServiceError | null; res?: Buffer }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(path, id, id, Buffer.alloc(0), new Metadata(), { deadline: Date.now() + 5000 }, (err, res) => resolve({ err, ...(res ? { res } : {}) }));
  });
}

test('h2 tls: a grpc-js client with a certificate of the CA reaches our server, which sees it', async (t) => {
  const { address, certs } = await startServer(t);
  const tls = tlsChannel(address, { caPem: r('ca1.crt'), certPem: r('client1.crt'), keyPem: r('client1.key') });
  const client = new Client(address, tls.credentials, tls.channelOptions);
  t.after(() => client.close());
  const out = await grpcJsUnary(client, '/t.T/Who');
  assert.equal(out.err, null);
  assert.equal(out.res?.toString(), 'talosctl');
  assert.equal(certs[0]?.subject.O, 'os:admin');
});

test('h2 tls: our channel with a client certificate; the peer certificate is computed once per connection', async (t) => {
  const { address, certs, sessions } = await startServer(t);
  const channel = createH2Channel(address, { tls: { caPem: r('ca1.crt'), certPem: r('client1.crt'), keyPem: r('client1.key') } });
  t.after(() => channel.close());
  assert.equal((await channel.unary('/t.T/Who', Buffer.alloc(0))).toString(), 'talosctl');
  assert.equal((await channel.unary('/t.T/Who', Buffer.alloc(0))).toString(), 'talosctl');
  assert.equal(sessions[0], sessions[1], 'both calls went over one HTTP/2 session');
  assert.equal(certs[0], certs[1], 'the certificate object is reused within the session');
});

test('h2 tls: no client certificate, or one from another CA, fails the handshake', async (t) => {
  const { address, certs } = await startServer(t);
  const none = createH2Channel(address, { tls: { caPem: r('ca1.crt') } });
  const foreign = createH2Channel(address, { tls: { caPem: r('ca1.crt'), certPem: r('client2.crt'), keyPem: r('client2.key') } });
  t.after(() => {
    none.close();
    foreign.close();
  });
  await assert.rejects(none.unary('/t.T/Who', Buffer.alloc(0), { timeoutMs: 5000 }), (e) => hasCode(e, Code.Unavailable));
  await assert.rejects(foreign.unary('/t.T/Who', Buffer.alloc(0), { timeoutMs: 5000 }), (e) => hasCode(e, Code.Unavailable));
  assert.equal(certs.length, 0);
});

test('h2 tls: our channel verifies the server against its CA and the address it dialled', async (t) => {
  const { address } = await startServer(t);
  const wrongCa = createH2Channel(address, { tls: { caPem: r('ca2.crt'), certPem: r('client1.crt'), keyPem: r('client1.key') } });
  // The server certificate names 127.0.0.1 and localhost, not 127.0.0.2.
  const port = address.slice(address.lastIndexOf(':') + 1);
  const server2 = createH2Server({ tls: { certPem: r('server1.crt'), keyPem: r('server1.key') } });
  server2.register('/t.T/Who', 'unary', (call) => call.end());
  const other = await server2.listen('127.0.0.2:0');
  const wrongName = createH2Channel(other, { tls: { caPem: r('ca1.crt') } });
  t.after(async () => {
    wrongCa.close();
    wrongName.close();
    await server2.close(0);
  });
  await assert.rejects(wrongCa.unary('/t.T/Who', Buffer.alloc(0)), (e) => hasCode(e, Code.Unavailable));
  await assert.rejects(wrongName.unary('/t.T/Who', Buffer.alloc(0)), (e) => hasCode(e, Code.Unavailable) && /127\.0\.0\.2/.test(e.message));
  assert.ok(Number(port) > 0);
});

test('h2 tls: our channel with a client certificate reaches a grpc-js TLS server', async (t) => {
  const server = new Server();
  server.register(
    '/t.T/Who',
    (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => cb(null, Buffer.from(String(call.getAuthContext().sslPeerCertificate?.subject.CN ?? 'nobody'))),
    id,
    id,
    'unary',
  );
  const creds = new ReloadableServerCredentials({ caPem: r('ca1.crt'), certPem: r('server1.crt'), keyPem: r('server1.key') }, { requireClientCert: true });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', creds, (err, p) => (err ? reject(err) : resolve(p))));
  const channel = createH2Channel(`127.0.0.1:${port}`, { tls: { caPem: r('ca1.crt'), certPem: r('client1.crt'), keyPem: r('client1.key') } });
  t.after(() => {
    channel.close();
    server.forceShutdown();
  });
  assert.equal((await channel.unary('/t.T/Who', Buffer.alloc(0))).toString(), 'talosctl');
});

test('h2 tls: setSecureContext swaps the server certificate for new connections only', async (t) => {
  const { server, address } = await startServer(t);
  const client1 = { certPem: r('client1.crt'), keyPem: r('client1.key') };
  const before = createH2Channel(address, { tls: { caPem: r('ca1.crt'), ...client1 } });
  t.after(() => before.close());
  assert.equal((await before.unary('/t.T/Who', Buffer.alloc(0))).toString(), 'talosctl');

  server.setSecureContext({ certPem: r('server2.crt'), keyPem: r('server2.key'), caPem: r('ca1.crt'), requireClientCert: true });
  // The established connection keeps working with the old material.
  assert.equal((await before.unary('/t.T/Who', Buffer.alloc(0))).toString(), 'talosctl');
  const trustsOld = createH2Channel(address, { tls: { caPem: r('ca1.crt'), ...client1 } });
  const trustsNew = createH2Channel(address, { tls: { caPem: r('ca2.crt'), ...client1 } });
  t.after(() => {
    trustsOld.close();
    trustsNew.close();
  });
  await assert.rejects(trustsOld.unary('/t.T/Who', Buffer.alloc(0)), (e) => hasCode(e, Code.Unavailable));
  assert.equal((await trustsNew.unary('/t.T/Who', Buffer.alloc(0))).toString(), 'talosctl');
});

test('h2 tls: close() does not wait for a connection that never finished its TLS handshake', { timeout: 15_000 }, async () => {
  const server = createH2Server({ tls: { certPem: r('server1.crt'), keyPem: r('server1.key') } });
  const address = await server.listen('127.0.0.1:0');
  const socket = netConnect(Number(address.slice(address.lastIndexOf(':') + 1)), '127.0.0.1');
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  const serverClosedIt = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => {});
  const t0 = Date.now();
  await server.close(50);
  await serverClosedIt;
  // Node's own TLS handshake timeout is 120 s: finishing at all within the test proves the point.
  assert.ok(Date.now() - t0 < 10_000);
});

test('h2 tls: a TCP connection that never completes the TLS handshake is closed after handshakeTimeoutMs', { timeout: 10_000 }, async (t) => {
  const server = createH2Server({ tls: { certPem: r('server1.crt'), keyPem: r('server1.key') }, handshakeTimeoutMs: 100 });
  t.after(() => server.close(0));
  const address = await server.listen('127.0.0.1:0');
  const socket = netConnect(Number(address.slice(address.lastIndexOf(':') + 1)), '127.0.0.1');
  socket.on('error', () => {});
  socket.resume();
  // Half a ClientHello's worth of nothing: the server must not wait on it for Node's 120 s.
  await new Promise<void>((resolve) => socket.once('close', () => resolve()));
  while (server.connections > 0) await new Promise((resolve) => setTimeout(resolve, 5));
});
