import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Code, TalosError } from '@talos-ts/cosi';
import { generateMachineConfigs, generateSecretsBundle, isSignedBy, machinePb, parseCertificate, toConfigSecrets, type CallContext } from '@talos-ts/machinery';
import { implement } from './implement.ts';
import { createKubeconfigService, generateAdminKubeconfig, tarGzOneFile } from './kubeconfig-service.ts';
import { principalFromMetadata, roleMetadataKey, type Principal } from './authz.ts';

let cached: ReturnType<typeof makeConfigs> | undefined;
/** One secrets bundle for the file: its RSA keys are the slow part. */
const configs = () => (cached ??= makeConfigs());

async function makeConfigs() {
  const bundle = await generateSecretsBundle();
  const g = generateMachineConfigs({ clusterName: 'demo', endpoint: 'https://10.5.0.2:6443', secrets: toConfigSecrets(bundle) });
  return { controlplane: g.controlplane.config, worker: g.worker.config, k8sCaPem: bundle.certs.k8s.crt };
}

type Kubeconfig = {
  clusters: { name: string; cluster: Record<string, string> }[];
  users: { name: string; user: Record<string, string> }[];
  contexts: { name: string; context: Record<string, string> }[];
  'current-context': string;
};

test('kubeconfig: admin client certificate CN=admin O=system:masters, signed by the Kubernetes CA, for the cluster endpoint', async () => {
  const { controlplane, k8sCaPem } = await configs();
  const now = new Date('2030-01-01T00:00:00Z');
  const k = parseYaml(await generateAdminKubeconfig(controlplane, { now })) as Kubeconfig;
  assert.deepEqual(k.clusters.map((c) => [c.name, c.cluster['server']]), [['demo', 'https://10.5.0.2:6443']]);
  assert.deepEqual(k.contexts, [{ name: 'admin@demo', context: { cluster: 'demo', namespace: 'default', user: 'admin@demo' } }]);
  assert.equal(k['current-context'], 'admin@demo');
  assert.equal(Buffer.from(k.clusters[0]!.cluster['certificate-authority-data']!, 'base64').toString(), k8sCaPem.endsWith('\n') ? k8sCaPem : `${k8sCaPem}\n`);
  const crt = parseCertificate(Buffer.from(k.users[0]!.user['client-certificate-data']!, 'base64').toString());
  assert.equal(crt.subject.commonName, 'admin');
  assert.deepEqual(crt.subject.organizations, ['system:masters']);
  assert.deepEqual(crt.extKeyUsage, ['clientAuth']);
  assert.ok(isSignedBy(crt, parseCertificate(k8sCaPem)));
  assert.equal(crt.notBefore.toISOString(), '2029-12-31T23:59:50.000Z');
  assert.equal(crt.notAfter.toISOString(), '2031-01-01T00:00:00.000Z');
  // the key matches the certificate (openssl reads both, as kubectl's TLS stack will)
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-'));
  try {
    writeFileSync(join(dir, 'crt'), Buffer.from(k.users[0]!.user['client-certificate-data']!, 'base64'));
    writeFileSync(join(dir, 'key'), Buffer.from(k.users[0]!.user['client-key-data']!, 'base64'));
    const pubOfCrt = execFileSync('openssl', ['x509', '-in', join(dir, 'crt'), '-noout', '-pubkey']);
    const pubOfKey = execFileSync('openssl', ['pkey', '-in', join(dir, 'key'), '-pubout']);
    assert.equal(pubOfCrt.toString(), pubOfKey.toString());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('kubeconfig: cluster.adminKubeconfig.certLifetime sets the certificate lifetime; a bad one names the field', async () => {
  const { controlplane } = await configs();
  const now = new Date('2030-01-01T00:00:00Z');
  const short = { ...controlplane, cluster: { ...controlplane.cluster!, adminKubeconfig: { certLifetime: '1h30m' } } };
  const k = parseYaml(await generateAdminKubeconfig(short, { now })) as Kubeconfig;
  assert.equal(parseCertificate(Buffer.from(k.users[0]!.user['client-certificate-data']!, 'base64').toString()).notAfter.toISOString(), '2030-01-01T01:30:00.000Z');
  const bad = { ...controlplane, cluster: { ...controlplane.cluster!, adminKubeconfig: { certLifetime: 'soon' } } };
  await assert.rejects(generateAdminKubeconfig(bad), /cluster\.adminKubeconfig\.certLifetime: invalid duration "soon"/);
});

test('kubeconfig: the reply is a tar.gz that tar(1) lists as one file "kubeconfig" with the YAML inside', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubeconfig-tar-'));
  try {
    const body = 'apiVersion: v1\n'.repeat(100);
    writeFileSync(join(dir, 'a.tgz'), tarGzOneFile('kubeconfig', Buffer.from(body), { mtime: new Date('2020-01-01T00:00:00Z') }));
    assert.match(execFileSync('tar', ['-tvzf', join(dir, 'a.tgz')], { encoding: 'utf8' }), /^-rw------- 0\/0 +1500 2020-01-01 00:00 kubeconfig\n$/);
    execFileSync('tar', ['-xzf', join(dir, 'a.tgz'), '-C', dir]);
    assert.equal(readFileSync(join(dir, 'kubeconfig'), 'utf8'), body);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// The caller's roles ride in the metadata as apid sends them; machined's own reader turns them into the principal.
const ctx = (roles: string[]) => ({ signal: new AbortController().signal, metadata: new Map([[roleMetadataKey, [roles.join(',')]]]) }) as unknown as CallContext;
const principal = (c: CallContext): Principal => principalFromMetadata(c.metadata);

async function call(service: ReturnType<typeof implement<typeof machinePb.MachineService>>, roles: string[]): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const d of service.kubeconfig({} as never, ctx(roles))) out.push(d.bytes ?? new Uint8Array());
  return out;
}

test('kubeconfig RPC: os:admin gets the archive; operator, reader and a worker node are refused', async () => {
  const { controlplane, worker } = await configs();
  const cp = implement(machinePb.MachineService, createKubeconfigService({ activeConfig: () => controlplane }), principal);
  const chunks = await call(cp, ['os:admin']);
  assert.equal(chunks.length, 1);
  for (const role of ['os:operator', 'os:reader', 'os:etcd:backup']) {
    await assert.rejects(call(cp, [role]), (e: unknown) => e instanceof TalosError && e.code === Code.PermissionDenied);
  }
  const w = implement(machinePb.MachineService, createKubeconfigService({ activeConfig: () => worker }), principal);
  await assert.rejects(call(w, ['os:admin']), (e: unknown) => e instanceof TalosError && e.code === Code.FailedPrecondition && /control plane/.test(e.message));
  const none = implement(machinePb.MachineService, createKubeconfigService({ activeConfig: () => undefined }), principal);
  await assert.rejects(call(none, ['os:admin']), /no configuration yet/);
});
