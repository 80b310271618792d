import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, createLogger, hasCode } from '@talos-ts/cosi';
import type { LogRecord } from '@talos-ts/cosi';
import { createCsr, createSelfSignedCa, generateKey, issueCertificate, privateKeyToPem, requestCertificate } from '@talos-ts/machinery';
import { FakeClock } from '@talos-ts/testkit';
import { createTrustd, MAX_CSR_BYTES, MAX_CSR_SANS, type TrustdOptions } from './trustd.ts';

const TOKEN = 'abcdef.0123456789abcdef';

async function setup(t: { after(fn: () => Promise<void>): void }, extra: Partial<TrustdOptions> = {}) {
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
  const trustd = createTrustd({ listen: '127.0.0.5:0', certsDir: dir, ...extra });
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

test('trustd: a flood of wrong tokens from one address is cut off with ResourceExhausted and logged as one line with counts', async (t) => {
  const clock = new FakeClock();
  const records: LogRecord[] = [];
  const logger = createLogger({ level: 'debug', sink: (r) => records.push(r) });
  const { ca, address } = await setup(t, { clock, logger, failedTokenLimits: { burst: 5, refillPerSecond: 1 } });
  const csrPem = createCsr(await generateKey('ecdsa'), { subject: { commonName: 'x' } });
  const ask = (token: string) => requestCertificate({ endpoints: [address], token, csrPem, caPem: ca.crtPem }).then(
    () => 'signed',
    (e: unknown) => (hasCode(e, Code.Unauthenticated) ? 'unauthenticated' : hasCode(e, Code.ResourceExhausted) ? 'exhausted' : String(e)),
  );
  const got: string[] = [];
  for (let i = 0; i < 20; i++) got.push(await ask('abcdef.0000000000000000'));
  assert.deepEqual(got, [...Array<string>(5).fill('unauthenticated'), ...Array<string>(15).fill('exhausted')]);
  // While over the limit even the right token is not looked at: a guess cannot be confirmed.
  assert.equal(await ask(TOKEN), 'exhausted');
  const refusals = records.filter((r) => /wrong token/.test(r.msg));
  assert.equal(refusals.length, 1, JSON.stringify(refusals));
  assert.match(String(refusals[0]?.['source']), /^127\.\d+\.\d+\.\d+$/);
  // A second later the source has earned one attempt back.
  await clock.advance(1000);
  assert.equal(await ask(TOKEN), 'signed');
});

test('trustd: a CSR with more subject alternative names than the limit is refused with InvalidArgument', async (t) => {
  const { ca, address } = await setup(t);
  const ipAddresses = Array.from({ length: MAX_CSR_SANS + 1 }, (_, i) => `10.9.${i >> 8}.${i & 255}`);
  const csrPem = createCsr(await generateKey('ecdsa'), { subject: { commonName: 'many' }, ipAddresses });
  await assert.rejects(requestCertificate({ endpoints: [address], token: TOKEN, csrPem, caPem: ca.crtPem }), (e) => {
    assert.ok(hasCode(e, Code.InvalidArgument), String(e));
    assert.match(e.message, new RegExp(`${MAX_CSR_SANS + 1} subject alternative names .*limit of ${MAX_CSR_SANS}`));
    return true;
  });
  // At the limit it still signs.
  const ok = createCsr(await generateKey('ecdsa'), { subject: { commonName: 'many' }, ipAddresses: ipAddresses.slice(1) });
  await requestCertificate({ endpoints: [address], token: TOKEN, csrPem: ok, caPem: ca.crtPem });
});

test('trustd: a DNS name longer than 253 characters or with a label over 63 is refused with InvalidArgument', async (t) => {
  const { ca, address } = await setup(t);
  const key = await generateKey('ecdsa');
  const long = Array.from({ length: 5 }, () => 'a'.repeat(60)).join('.'); // 304 characters
  for (const [name, reason] of [
    [long, /DNS name 0 is 304 characters, over the limit of 253/],
    [`${'b'.repeat(64)}.example`, /label of 64 characters, over the limit of 63/],
  ] as const) {
    const csrPem = createCsr(key, { subject: { commonName: 'n' }, dnsNames: [name] });
    await assert.rejects(requestCertificate({ endpoints: [address], token: TOKEN, csrPem, caPem: ca.crtPem }), (e) => {
      assert.ok(hasCode(e, Code.InvalidArgument), String(e));
      assert.match(e.message, reason);
      return true;
    });
  }
});

test('trustd: a CSR larger than the byte limit is refused before it is parsed', async (t) => {
  const { ca, address } = await setup(t);
  const body = Buffer.alloc(MAX_CSR_BYTES, 0x41).toString('base64');
  const csrPem = `-----BEGIN CERTIFICATE REQUEST-----\n${body}\n-----END CERTIFICATE REQUEST-----\n`;
  await assert.rejects(requestCertificate({ endpoints: [address], token: TOKEN, csrPem, caPem: ca.crtPem }), (e) => {
    assert.ok(hasCode(e, Code.InvalidArgument), String(e));
    assert.match(e.message, new RegExp(`over the limit of ${MAX_CSR_BYTES}`));
    return true;
  });
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
