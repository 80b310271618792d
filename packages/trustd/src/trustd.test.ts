import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode } from '@talos-ts/cosi';
import { createCsr, createSelfSignedCa, generateKey, issueCertificate, privateKeyToPem, requestCertificate } from '@talos-ts/machinery';
import { createTrustd } from './trustd.ts';

const TOKEN = 'abcdef.0123456789abcdef';

async function setup(t: { after(fn: () => Promise<void>): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'trustd-'));
  const now = Date.now();
  const caKey = await generateKey('ecdsa');
  const ca = createSelfSignedCa({ key: caKey, subject: { organizations: ['talos'] }, notBefore: new Date(now - 60_000), notAfter: new Date(now + 10 * 86_400_000) });
  const serverKey = await generateKey('ecdsa');
  const serverCrt = issueCertificate(ca, {
    publicKey: serverKey.publicKey,
    subject: { commonName: 'trustd' },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 86_400_000),
    extKeyUsage: ['serverAuth'],
    ipAddresses: ['127.0.0.5'],
  });
  writeFileSync(join(dir, 'ca.crt'), ca.crtPem);
  writeFileSync(join(dir, 'ca.key'), ca.keyPem);
  writeFileSync(join(dir, 'server.crt'), serverCrt);
  writeFileSync(join(dir, 'server.key'), privateKeyToPem(serverKey));
  writeFileSync(join(dir, 'token'), `${TOKEN}\n`);
  const trustd = createTrustd({ listen: '127.0.0.5:0', certsDir: dir });
  const address = await trustd.listen();
  t.after(async () => {
    await trustd.close(0);
    rmSync(dir, { recursive: true, force: true });
  });
  const openssl = (...args: string[]): string => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: 'pipe' });
  return { dir, ca, address, openssl };
}

test('trustd: the right token gets a 24 h server certificate signed by the OS CA with the CSR SANs', async (t) => {
  const { dir, ca, address, openssl } = await setup(t);
  const key = await generateKey('ecdsa');
  const csrPem = createCsr(key, { subject: { commonName: 'worker-1', organizations: ['os:admin'] }, dnsNames: ['worker-1'], ipAddresses: ['10.5.0.2'] });
  // A dead endpoint first: the helper moves on to the next one.
  const signed = await requestCertificate({ endpoints: ['127.0.0.5:1', address], token: TOKEN, csrPem, caPem: ca.crtPem });
  assert.equal(signed.endpoint, address);
  assert.equal(signed.caPem, ca.crtPem);
  writeFileSync(join(dir, 'leaf.crt'), signed.crtPem);
  assert.match(openssl('verify', '-CAfile', 'ca.crt', 'leaf.crt'), /leaf\.crt: OK/);
  const text = openssl('x509', '-in', 'leaf.crt', '-noout', '-text');
  assert.match(text, /DNS:worker-1/);
  assert.match(text, /IP Address:10\.5\.0\.2/);
  assert.match(text, /CA:FALSE/);
  assert.match(text, /TLS Web Server Authentication/);
  assert.doesNotMatch(text, /TLS Web Client Authentication/);
  const subject = openssl('x509', '-in', 'leaf.crt', '-noout', '-subject');
  assert.match(subject, /CN\s*=\s*worker-1/);
  assert.doesNotMatch(subject, /os:admin/);
  const start = Date.parse(openssl('x509', '-in', 'leaf.crt', '-noout', '-startdate').split('=')[1] ?? '');
  const end = Date.parse(openssl('x509', '-in', 'leaf.crt', '-noout', '-enddate').split('=')[1] ?? '');
  assert.equal(end - start, 24 * 3600 * 1000);
});

test('trustd: a wrong or missing token is refused with Unauthenticated', async (t) => {
  const { ca, address } = await setup(t);
  const csrPem = createCsr(await generateKey('ecdsa'), { subject: { commonName: 'x' } });
  for (const token of ['abcdef.0000000000000000', '']) {
    await assert.rejects(requestCertificate({ endpoints: [address], token, csrPem, caPem: ca.crtPem }), (e) => hasCode(e, Code.Unauthenticated));
  }
});

test('trustd: a CSR asking for CA:TRUE gets a leaf certificate', async (t) => {
  const { dir, address, openssl } = await setup(t);
  openssl('req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'evil.key', '-out', 'evil.csr', '-subj', '/CN=evil', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  assert.match(openssl('req', '-in', 'evil.csr', '-noout', '-text'), /CA:TRUE/);
  // No caPem: the helper also works before the node knows the CA (the server is then not verified).
  const signed = await requestCertificate({ endpoints: [address], token: TOKEN, csrPem: readFileSync(join(dir, 'evil.csr'), 'utf8') });
  writeFileSync(join(dir, 'evil.crt'), signed.crtPem);
  const text = openssl('x509', '-in', 'evil.crt', '-noout', '-text');
  assert.match(text, /CA:FALSE/);
  assert.doesNotMatch(text, /Certificate Sign/);
});

test('trustd: garbage instead of a CSR is InvalidArgument', async (t) => {
  const { ca, address } = await setup(t);
  await assert.rejects(
    requestCertificate({ endpoints: [address], token: TOKEN, csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', caPem: ca.crtPem }),
    (e) => hasCode(e, Code.InvalidArgument),
  );
});

test('trustd process: the bin signs over TLS and exits cleanly on SIGTERM', async (t) => {
  const { dir, ca } = await setup(t);
  const port = 40000 + ((process.pid + 7) % 20000);
  const bin = new URL('../bin/trustd.js', import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, '--listen', `127.0.0.5:${port}`, '--certs-dir', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.after(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
  });
  const csrPem = createCsr(await generateKey('ecdsa'), { subject: { commonName: 'w' }, ipAddresses: ['10.0.0.9'] });
  let signed;
  for (let i = 0; i < 100 && signed === undefined; i++) {
    signed = await requestCertificate({ endpoints: [`127.0.0.5:${port}`], token: TOKEN, csrPem, caPem: ca.crtPem, timeoutMs: 1000 }).catch(() => undefined);
    if (signed === undefined) await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(signed?.caPem, ca.crtPem, stderr);
  child.kill('SIGTERM');
  assert.equal(await exited, 0);
  assert.match(stderr, /"msg":"signed a certificate"/);
});
