import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash, X509Certificate } from 'node:crypto';
import { generateKey, privateKeyFromPem, privateKeyToPem, privateKeyToPkcs8Pem, type KeyType } from './keys.ts';
import {
  bytesToIp,
  certificateSpkiHash,
  createCsr,
  createSelfSignedCa,
  ipToBytes,
  isSignedBy,
  issueCertificate,
  loadCertificateAuthority,
  parseCertificate,
  parseCsr,
  signCsr,
} from './x509.ts';
import { decodeDer, derInteger, derOid, derTime, readOid, readTime } from './der.ts';
import { decodePem } from './pem.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'talos-x509-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[], input?: string): { code: number; out: string } {
  const res = spawnSync('openssl', args, { encoding: 'utf8', input: input ?? '' });
  return { code: res.status ?? -1, out: `${res.stdout}${res.stderr}` };
}

function write(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const hour = 3600_000;
const now = new Date(Math.floor(Date.now() / 1000) * 1000);

for (const type of ['ed25519', 'ecdsa', 'rsa'] as KeyType[]) {
  test(`x509: ${type} CA and leaf form a chain openssl verifies, with the requested extensions`, async () => {
    const caKey = await generateKey(type, { rsaBits: 2048 });
    const ca = createSelfSignedCa({
      key: caKey,
      subject: { organizations: ['talos'] },
      notBefore: now,
      notAfter: new Date(now.getTime() + 87600 * hour),
    });
    const leafKey = await generateKey(type, { rsaBits: 2048 });
    const leaf = issueCertificate(ca, {
      publicKey: leafKey.publicKey,
      subject: { commonName: 'node-1', organizations: ['os:admin', 'os:reader'] },
      notBefore: now,
      notAfter: new Date(now.getTime() + 24 * hour),
      extKeyUsage: ['serverAuth', 'clientAuth'],
      dnsNames: ['node-1.example'],
      ipAddresses: ['10.5.0.2', 'fd00::1'],
    });
    const caFile = write(`${type}-ca.crt`, ca.crtPem);
    const leafFile = write(`${type}-leaf.crt`, leaf);

    const verified = openssl(['verify', '-CAfile', caFile, leafFile]);
    assert.equal(verified.code, 0, verified.out);
    assert.match(verified.out, /: OK/);

    const caText = openssl(['x509', '-in', caFile, '-text', '-noout']).out;
    assert.match(caText, /Basic Constraints: critical\s+CA:TRUE/);
    assert.match(caText, /Key Usage: critical\s+Digital Signature, Certificate Sign/);
    assert.match(caText, /Extended Key Usage:\s*\n\s+TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(caText, /Subject: O = talos/);
    assert.match(caText, /Subject Key Identifier/);

    const leafText = openssl(['x509', '-in', leafFile, '-text', '-noout']).out;
    assert.match(leafText, /Basic Constraints: critical\s+CA:FALSE/);
    assert.match(leafText, /Key Usage: critical\s+Digital Signature\n/);
    assert.match(leafText, /DNS:node-1\.example, IP Address:10\.5\.0\.2, IP Address:FD00:0:0:0:0:0:0:1/);
    assert.match(leafText, /Authority Key Identifier/);
    assert.match(leafText, /Subject: O = os:admin \+ O = os:reader, CN = node-1/);
    const algo = { ed25519: /Public Key Algorithm: ED25519/, ecdsa: /NIST CURVE: P-256/, rsa: /rsaEncryption/ }[type];
    assert.match(leafText, algo);
    const sig = { ed25519: /Signature Algorithm: ED25519/, ecdsa: /ecdsa-with-SHA256/, rsa: /sha512WithRSAEncryption/ }[type];
    assert.match(leafText, sig);

    // Node's own parser agrees on validity and SANs.
    const x = new X509Certificate(leaf);
    assert.equal(new Date(x.validTo).getTime(), now.getTime() + 24 * hour);
    assert.equal(x.subjectAltName, 'DNS:node-1.example, IP Address:10.5.0.2, IP Address:FD00:0:0:0:0:0:0:1');
    assert.ok(x.verify(new X509Certificate(ca.crtPem).publicKey));

    const parsed = parseCertificate(leaf);
    assert.deepEqual(parsed.extKeyUsage, ['serverAuth', 'clientAuth']);
    assert.deepEqual(parsed.ipAddresses, ['10.5.0.2', 'fd00::1']);
    assert.equal(parsed.isCa, false);
    assert.ok(isSignedBy(parsed, ca.cert));
    assert.ok(parsed.authorityKeyId?.equals(ca.cert.subjectKeyId ?? Buffer.alloc(0)));
  });
}

test('createCsr: openssl accepts our request and reads its SAN extension request', async () => {
  const key = await generateKey('ed25519');
  const csr = createCsr(key, { subject: { organizations: ['os:admin'] }, ipAddresses: ['10.0.0.7'], dnsNames: ['n7'] });
  const file = write('ours.csr', csr);
  const res = openssl(['req', '-in', file, '-verify', '-noout', '-text']);
  assert.equal(res.code, 0, res.out);
  assert.match(res.out, /verify OK/);
  assert.match(res.out, /DNS:n7, IP Address:10\.0\.0\.7/);
  assert.match(res.out, /Subject: O = os:admin/);
});

test('parseCsr: a tampered request fails its self-signature check', async () => {
  const key = await generateKey('ecdsa');
  const csr = createCsr(key, { subject: { organizations: ['os:admin'] }, ipAddresses: ['10.0.0.7'] });
  const der = decodePem(csr).der;
  const at = der.indexOf(Buffer.from([10, 0, 0, 7]));
  assert.ok(at > 0);
  der[at + 3] = 8;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  assert.equal(parseCsr(csr).signatureValid, true);
  assert.equal(parseCsr(tampered).signatureValid, false);
  const caKey = await generateKey('ecdsa');
  const ca = createSelfSignedCa({ key: caKey, subject: { organizations: ['x'] }, notBefore: now, notAfter: new Date(now.getTime() + hour) });
  assert.throws(() => signCsr(ca, tampered, { notBefore: now, notAfter: new Date(now.getTime() + hour) }), /signature/);
});

for (const [alg, newkey] of [
  ['ed25519', ['-newkey', 'ed25519']],
  ['P-256', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256']],
  ['RSA', ['-newkey', 'rsa:2048']],
] as const) {
  test(`signCsr: an openssl-made ${alg} CSR is signed with subject and SANs copied`, async () => {
    const keyFile = join(dir, `openssl-${alg}.key`);
    const csrFile = join(dir, `openssl-${alg}.csr`);
    const res = openssl([
      'req', '-new', ...newkey, '-nodes', '-keyout', keyFile, '-out', csrFile,
      '-subj', '/O=os:reader/CN=client', '-addext', 'subjectAltName=IP:192.168.1.5,DNS:client.local',
    ]);
    assert.equal(res.code, 0, res.out);
    const caKey = await generateKey('ed25519');
    const ca = createSelfSignedCa({ key: caKey, subject: { organizations: ['talos'] }, notBefore: now, notAfter: new Date(now.getTime() + 10 * hour) });
    const crt = signCsr(ca, readFileSync(csrFile, 'utf8'), {
      notBefore: now,
      notAfter: new Date(now.getTime() + 2 * hour),
      extKeyUsage: ['clientAuth'],
    });
    const caFile = write(`ca-for-${alg}.crt`, ca.crtPem);
    const crtFile = write(`signed-${alg}.crt`, crt);
    const v = openssl(['verify', '-CAfile', caFile, crtFile]);
    assert.equal(v.code, 0, v.out);
    const text = openssl(['x509', '-in', crtFile, '-noout', '-text']).out;
    assert.match(text, /Subject: O = os:reader, CN = client/);
    assert.match(text, /IP Address:192\.168\.1\.5/);
    assert.match(text, /DNS:client\.local/);
    assert.match(text, /Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
    // The certificate holds the CSR's key: openssl's key matches it.
    const mod1 = openssl(['pkey', '-in', keyFile, '-pubout']).out;
    const mod2 = openssl(['x509', '-in', crtFile, '-noout', '-pubkey']).out;
    assert.equal(mod1, mod2);
  });
}

test('privateKeyToPem: upstream labels per key type; loading accepts them and PKCS#8', async () => {
  const labels = { ed25519: 'ED25519 PRIVATE KEY', ecdsa: 'EC PRIVATE KEY', rsa: 'RSA PRIVATE KEY' } as const;
  for (const type of ['ed25519', 'ecdsa', 'rsa'] as const) {
    const key = await generateKey(type, { rsaBits: 2048 });
    const pem = privateKeyToPem(key);
    assert.equal(decodePem(pem).label, labels[type]);
    const again = privateKeyFromPem(pem);
    assert.equal(again.type, type);
    const pkcs8 = privateKeyToPkcs8Pem(key);
    assert.equal(decodePem(pkcs8).label, 'PRIVATE KEY');
    assert.equal(privateKeyFromPem(pkcs8).type, type);
    // openssl reads the standard and SEC1/PKCS#1 forms; our Ed25519 label needs converting.
    const forOpenssl = type === 'ed25519' ? pem.replaceAll('ED25519 PRIVATE KEY', 'PRIVATE KEY') : pem;
    const res = openssl(['pkey', '-noout', '-text'], forOpenssl);
    assert.equal(res.code, 0, res.out);
  }
  assert.throws(() => privateKeyFromPem('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'), /unexpected PEM block/);
});

test('loadCertificateAuthority: rejects a key that does not belong to the certificate', async () => {
  const a = await generateKey('ecdsa');
  const b = await generateKey('ecdsa');
  const ca = createSelfSignedCa({ key: a, subject: { organizations: ['etcd'] }, notBefore: now, notAfter: new Date(now.getTime() + hour) });
  assert.equal(loadCertificateAuthority(ca.crtPem, ca.keyPem).key.type, 'ecdsa');
  assert.throws(() => loadCertificateAuthority(ca.crtPem, privateKeyToPem(b)), /does not match/);
});

test('parseCertificate: reads a certificate openssl made, including its SKI and SPKI pin', () => {
  const keyFile = join(dir, 'o.key');
  const crtFile = join(dir, 'o.crt');
  const res = openssl([
    'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', crtFile,
    '-subj', '/O=acme/CN=root', '-days', '3', '-addext', 'subjectAltName=IP:2001:db8::5',
  ]);
  assert.equal(res.code, 0, res.out);
  const cert = parseCertificate(readFileSync(crtFile, 'utf8'));
  assert.deepEqual(cert.subject, { commonName: 'root', organizations: ['acme'] });
  assert.equal(cert.isCa, true);
  assert.deepEqual(cert.ipAddresses, ['2001:db8::5']);
  assert.ok(cert.subjectKeyId && cert.subjectKeyId.length > 0);
  assert.ok(Math.abs(cert.notAfter.getTime() - cert.notBefore.getTime() - 3 * 24 * hour) < 2000);
  const pubFile = write('o.pub', openssl(['x509', '-in', crtFile, '-noout', '-pubkey']).out);
  const derFile = join(dir, 'o.pub.der');
  assert.equal(openssl(['pkey', '-pubin', '-in', pubFile, '-outform', 'DER', '-out', derFile]).code, 0);
  const expected = createHash('sha256').update(readFileSync(derFile)).digest('hex');
  assert.equal(certificateSpkiHash(cert), `sha256:${expected}`);
});

test('der: OIDs, integers and times encode as X.690 says', () => {
  assert.equal(derOid('1.2.840.10045.4.3.2').toString('hex'), '06082a8648ce3d040302');
  assert.equal(readOid(decodeDer(derOid('2.5.29.37'))), '2.5.29.37');
  assert.equal(derInteger(0x80).toString('hex'), '02020080');
  assert.equal(derInteger(0).toString('hex'), '020100');
  assert.equal(derInteger(Buffer.from([0, 0, 1])).toString('hex'), '020101');
  const early = new Date(Date.UTC(2049, 11, 31, 23, 59, 59));
  const late = new Date(Date.UTC(2050, 0, 1, 0, 0, 0));
  assert.equal(derTime(early)[0], 0x17);
  assert.equal(derTime(late)[0], 0x18);
  assert.equal(readTime(decodeDer(derTime(early))).getTime(), early.getTime());
  assert.equal(readTime(decodeDer(derTime(late))).getTime(), late.getTime());
  assert.throws(() => decodeDer(Buffer.from([0x30, 0x05, 0x02, 0x01])), /runs past the end/);
});

test('createCsr/issueCertificate: a DNS name of 128 characters or more keeps its bytes', async () => {
  const name = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.example`; // 199 characters
  const key = await generateKey('ecdsa');
  assert.deepEqual(parseCsr(createCsr(key, { subject: { commonName: 'n' }, dnsNames: [name, 'short'] })).dnsNames, [name, 'short']);
  const now = new Date();
  const ca = createSelfSignedCa({ key, subject: { organizations: ['t'] }, notBefore: now, notAfter: new Date(now.getTime() + 3_600_000) });
  const crt = issueCertificate(ca, { publicKey: key.publicKey, subject: { commonName: 'n' }, notBefore: now, notAfter: new Date(now.getTime() + 60_000), dnsNames: [name] });
  assert.deepEqual(parseCertificate(crt).dnsNames, [name]);
  assert.equal(new X509Certificate(crt).subjectAltName, `DNS:${name}`);
});

test('ipToBytes/bytesToIp: IPv4, compressed IPv6 and mapped IPv4 round trip', () => {
  for (const ip of ['10.0.0.1', '::1', 'fd00::1', '2001:db8:0:1::5', '1:2:3:4:5:6:7:8']) {
    assert.equal(bytesToIp(ipToBytes(ip)), ip);
  }
  assert.equal(ipToBytes('::ffff:1.2.3.4').toString('hex'), '00000000000000000000ffff01020304');
  assert.throws(() => ipToBytes('300.1.1.1'), /invalid IP/);
});
