import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSecretsBundle, parseCertificate } from '@talos-ts/machinery';
import { main } from '../../main.ts';

let dir = '';
const startDir = process.cwd();
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'talosctl-gen-'));
  // gen verbs write beside the working directory, as upstream's do.
  process.chdir(dir);
});
after(() => {
  process.chdir(startDir);
  rmSync(dir, { recursive: true, force: true });
});

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

function openssl(args: string[], input?: string): { code: number; out: string } {
  const res = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir, input: input ?? '' });
  return { code: res.status ?? -1, out: `${res.stdout}${res.stderr}` };
}

test('gen secrets: writes a loadable secrets.yaml, refuses to overwrite without --force', async () => {
  const first = await run('gen', 'secrets', '--talos-version', 'v1.6');
  assert.equal(first.code, 0, first.err);
  const file = join(dir, 'secrets.yaml');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const bundle = await loadSecretsBundle(file);
  assert.match(bundle.certs.k8sServiceAccount.key, /BEGIN EC PRIVATE KEY/);
  const before = readFileSync(file, 'utf8');

  const again = await run('gen', 'secrets', '--talos-version', 'v1.6');
  assert.equal(again.code, 1);
  assert.match(again.err, /file "secrets\.yaml" already exists, use --force to overwrite/);
  assert.equal(readFileSync(file, 'utf8'), before);

  const forced = await run('gen', 'secrets', '--talos-version', 'v1.6', '--force');
  assert.equal(forced.code, 0, forced.err);
  assert.notEqual(readFileSync(file, 'utf8'), before);

  const other = await run('gen', 'secrets', '-o', 'other.yaml', '--talos-version', '1.5');
  assert.equal(other.code, 0, other.err);
  assert.ok(existsSync(join(dir, 'other.yaml')));
  const stdout = await run('gen', 'secrets', '-o', '-', '--talos-version', '1.5');
  assert.match(stdout.out, /^cluster:\n/);
});

test('gen ca: writes O.crt, O.key and O.sha256; the CA verifies itself and pins its SPKI', async () => {
  const res = await run('gen', 'ca', '--organization', 'acme', '--hours', '48');
  assert.equal(res.code, 0, res.err);
  const v = openssl(['verify', '-CAfile', 'acme.crt', 'acme.crt']);
  assert.equal(v.code, 0, v.out);
  const cert = parseCertificate(readFileSync(join(dir, 'acme.crt'), 'utf8'));
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 48 * 3600_000);
  assert.deepEqual(cert.subject.organizations, ['acme']);
  assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');
  assert.match(readFileSync(join(dir, 'acme.key'), 'utf8'), /^-----BEGIN ED25519 PRIVATE KEY-----/);
  const pubDer = spawnSync('openssl', ['x509', '-in', 'acme.crt', '-noout', '-pubkey'], { cwd: dir, encoding: 'utf8' }).stdout;
  const der = spawnSync('openssl', ['pkey', '-pubin', '-outform', 'DER'], { cwd: dir, input: pubDer });
  const { createHash } = await import('node:crypto');
  assert.equal(readFileSync(join(dir, 'acme.sha256'), 'utf8'), `sha256:${createHash('sha256').update(der.stdout).digest('hex')}`);
  const clash = await run('gen', 'ca', '--organization', 'acme');
  assert.equal(clash.code, 1);
  assert.match(clash.err, /acme\.crt" already exists/);
});

test('gen ca --rsa: an RSA CA signed with SHA-512, key in RSA PRIVATE KEY form', async () => {
  const res = await run('gen', 'ca', '--organization', 'rsaorg', '--rsa');
  assert.equal(res.code, 0, res.err);
  const text = openssl(['x509', '-in', 'rsaorg.crt', '-noout', '-text']).out;
  assert.match(text, /sha512WithRSAEncryption/);
  assert.match(text, /Public-Key: \(4096 bit\)/);
  assert.match(readFileSync(join(dir, 'rsaorg.key'), 'utf8'), /^-----BEGIN RSA PRIVATE KEY-----/);
  assert.equal(openssl(['rsa', '-in', 'rsaorg.key', '-check', '-noout']).code, 0);
});

test('gen key, csr, crt: our CSR passes openssl req -verify and our crt chains to our CA', async () => {
  assert.equal((await run('gen', 'ca', '--organization', 'talosca')).code, 0);
  assert.equal((await run('gen', 'key', '--name', 'client')).code, 0);
  assert.match(readFileSync(join(dir, 'client.key'), 'utf8'), /^-----BEGIN ED25519 PRIVATE KEY-----/);
  const csr = await run('gen', 'csr', '--key', 'client.key', '--ip', '10.5.0.9', '--roles', 'os:reader,os:operator');
  assert.equal(csr.code, 0, csr.err);
  const req = openssl(['req', '-in', 'client.csr', '-verify', '-noout', '-text']);
  assert.equal(req.code, 0, req.out);
  assert.match(req.out, /Subject: O = os:reader \+ O = os:operator/);
  assert.match(req.out, /IP Address:10\.5\.0\.9/);

  const crt = await run('gen', 'crt', '--ca', 'talosca', '--csr', 'client.csr', '--name', 'client', '--hours', '5');
  assert.equal(crt.code, 0, crt.err);
  const v = openssl(['verify', '-purpose', 'sslclient', '-CAfile', 'talosca.crt', 'client.crt']);
  assert.equal(v.code, 0, v.out);
  const text = openssl(['x509', '-in', 'client.crt', '-noout', '-text']).out;
  assert.match(text, /Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
  assert.match(text, /IP Address:10\.5\.0\.9/);
  const cert = parseCertificate(readFileSync(join(dir, 'client.crt'), 'utf8'));
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 5 * 3600_000);

  const badRole = await run('gen', 'csr', '--key', 'client.key', '--ip', '10.5.0.9', '--roles', 'os:root', '--force');
  assert.equal(badRole.code, 1);
  assert.match(badRole.err, /unknown roles: os:root/);
  const badIp = await run('gen', 'csr', '--key', 'client.key', '--ip', 'nope', '--force');
  assert.match(badIp.err, /invalid IP: nope/);
});

test('gen crt: signs a CSR that openssl made', async () => {
  assert.equal((await run('gen', 'ca', '--organization', 'forssl')).code, 0);
  const made = openssl([
    'req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ossl.key', '-out', 'ossl.csr',
    '-subj', '/O=os:admin', '-addext', 'subjectAltName=IP:10.9.9.9',
  ]);
  assert.equal(made.code, 0, made.out);
  const res = await run('gen', 'crt', '--ca', 'forssl', '--csr', 'ossl.csr', '--name', 'ossl');
  assert.equal(res.code, 0, res.err);
  const v = openssl(['verify', '-CAfile', 'forssl.crt', 'ossl.crt']);
  assert.equal(v.code, 0, v.out);
  const cert = parseCertificate(readFileSync(join(dir, 'ossl.crt'), 'utf8'));
  assert.deepEqual(cert.subject.organizations, ['os:admin']);
  assert.deepEqual(cert.ipAddresses, ['10.9.9.9']);
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 24 * 3600_000);
  assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
});

test('gen keypair: a self-signed Ed25519 pair with the IP as SAN, valid 24 hours', async () => {
  const res = await run('gen', 'keypair', '--organization', 'kp', '--ip', '10.1.1.1');
  assert.equal(res.code, 0, res.err);
  const cert = parseCertificate(readFileSync(join(dir, 'kp.crt'), 'utf8'));
  assert.deepEqual(cert.ipAddresses, ['10.1.1.1']);
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 24 * 3600_000);
  assert.equal(openssl(['verify', '-CAfile', 'kp.crt', 'kp.crt']).code, 0);
  const missing = await run('gen', 'keypair');
  assert.notEqual(missing.code, 0);
  assert.match(missing.err, /--organization/);
});
