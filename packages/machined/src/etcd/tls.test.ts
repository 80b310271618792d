import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, TalosError, nullLogger } from '@talos-ts/cosi';
import { generateSecretsBundle } from '@talos-ts/machinery';
import { EtcdManager } from './etcd.ts';
import { issueEtcdCertificates } from './pki.ts';

async function manager(pairs: (certs: Awaited<ReturnType<typeof issueEtcdCertificates>>) => { crt: string; key: string }) {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const certs = await issueEtcdCertificates({ caPem: bundle.certs.etcd.crt, caKeyPem: bundle.certs.etcd.key, hostname: 'cp-1', sans: ['127.0.0.1'], nowMs: Date.now(), lifetimeMs: 3600_000 });
  const dir = mkdtempSync(join(tmpdir(), 'etcd-tls-'));
  const { crt, key } = pairs(certs);
  writeFileSync(join(dir, 'ca.crt'), bundle.certs.etcd.crt);
  writeFileSync(join(dir, 'admin.crt'), crt);
  writeFileSync(join(dir, 'admin.key'), key);
  const m = new EtcdManager({
    spec: () => ({ name: 'cp-1', advertisedAddresses: ['127.0.0.1'], listenPeerAddresses: ['127.0.0.1'], listenClientAddresses: ['127.0.0.1'], image: '', extraArgs: {} }),
    certsDir: dir,
    dataDir: join(dir, 'data'),
    recoverSnapshotPath: join(dir, 'snap'),
    peers: { peers: () => [] } as never,
    supervisor: () => undefined,
    logger: nullLogger,
  });
  return { m, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test('etcd client TLS: a certificate read together with its own key is used', async () => {
  using s = await manager((c) => c.admin);
  const tls = await s.m.tls();
  assert.match(tls.crt, /BEGIN CERTIFICATE/);
});

test('etcd client TLS: a certificate and key caught mid-replacement are Unavailable, not an internal TLS error', async () => {
  using s = await manager((c) => ({ crt: c.admin.crt, key: c.peer.key }));
  await assert.rejects(s.m.tls(), (err: unknown) => err instanceof TalosError && err.code === Code.Unavailable && /do not match/.test(err.message));
});
