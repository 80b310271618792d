import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateSecretsBundle } from '@talos-ts/machinery';
import { issueEtcdCertificates } from './pki.ts';

function openssl(...args: string[]): { code: number; out: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

test('issueEtcdCertificates: server and peer verify against the etcd CA for both TLS roles, admin as a client only; SANs and ECDSA keys', async () => {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const now = Date.now();
  const spec = await issueEtcdCertificates({
    caPem: bundle.certs.etcd.crt,
    caKeyPem: bundle.certs.etcd.key,
    hostname: 'cp-1',
    sans: ['127.0.0.81', 'localhost', '127.0.0.1', 'cp-1', '127.0.0.81'],
    nowMs: now,
    lifetimeMs: 3600_000,
  });
  const dir = mkdtempSync(join(tmpdir(), 'etcd-pki-'));
  try {
    const file = (name: string, text: string): string => {
      const p = join(dir, name);
      writeFileSync(p, text);
      return p;
    };
    const ca = file('ca.crt', spec.ca);
    for (const name of ['server', 'peer'] as const) {
      const crt = file(`${name}.crt`, spec[name].crt);
      for (const purpose of ['sslserver', 'sslclient']) {
        const v = openssl('verify', '-CAfile', ca, '-purpose', purpose, crt);
        assert.equal(v.code, 0, `${name} ${purpose}: ${v.out}`);
      }
      const text = openssl('x509', '-in', crt, '-noout', '-text').out;
      assert.match(text, /IP Address:127\.0\.0\.81/);
      assert.match(text, /DNS:localhost/);
      assert.match(text, /DNS:cp-1/);
      assert.match(text, /Subject: CN ?= ?cp-1/);
      assert.match(openssl('pkey', '-in', file(`${name}.key`, spec[name].key), '-noout', '-text').out, /ASN1 OID: prime256v1/);
      // The key belongs to the certificate.
      const pub1 = openssl('x509', '-in', crt, '-noout', '-pubkey').out;
      const pub2 = openssl('pkey', '-in', join(dir, `${name}.key`), '-pubout').out;
      assert.equal(pub1, pub2);
    }
    const admin = file('admin.crt', spec.admin.crt);
    assert.equal(openssl('verify', '-CAfile', ca, '-purpose', 'sslclient', admin).code, 0);
    assert.notEqual(openssl('verify', '-CAfile', ca, '-purpose', 'sslserver', admin).code, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(spec.sans, ['127.0.0.1', '127.0.0.81', 'cp-1', 'localhost']);
  assert.equal(spec.renewAfter, now + 1800_000);
  assert.ok(spec.notAfter >= now + 3600_000 - 1000 && spec.notAfter <= now + 3600_000);
});

test('issueEtcdCertificates: a key that is not the CA key is rejected', async () => {
  const a = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const b = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  await assert.rejects(issueEtcdCertificates({ caPem: a.certs.etcd.crt, caKeyPem: b.certs.etcd.key, hostname: 'x', sans: ['127.0.0.1'], nowMs: Date.now(), lifetimeMs: 60_000 }));
});
