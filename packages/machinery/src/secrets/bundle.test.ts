import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { Code, hasCode } from '@talos-ts/cosi';
import {
  CA_VALIDITY_SECONDS,
  TOKEN_PATTERN,
  generateSecretsBundle,
  loadSecretsBundle,
  parseSecretsBundle,
  saveSecretsBundle,
  serializeSecretsBundle,
  toConfigSecrets,
  type SecretsBundle,
} from './bundle.ts';
import { parseCertificate } from './x509.ts';
import { decodePem } from './pem.ts';
import { privateKeyFromPem } from './keys.ts';

let dir = '';
let bundle: SecretsBundle;
const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'talos-bundle-'));
  // ECDSA service-account key keeps this suite fast; the RSA default has its own test.
  bundle = await generateSecretsBundle({ now, serviceAccountKeyType: 'ecdsa' });
});
after(() => rmSync(dir, { recursive: true, force: true }));

function openssl(args: string[]): { code: number; out: string } {
  const res = spawnSync('openssl', args, { encoding: 'utf8' });
  return { code: res.status ?? -1, out: `${res.stdout}${res.stderr}` };
}

test('generateSecretsBundle: CAs valid 10 years with upstream key types and subjects, verified by openssl', () => {
  const cases = [
    ['os', bundle.certs.os, 'ED25519', /Subject: O = talos\n/, 'ED25519 PRIVATE KEY'],
    ['etcd', bundle.certs.etcd, 'ecdsa-with-SHA256', /Subject: O = etcd\n/, 'EC PRIVATE KEY'],
    ['k8s', bundle.certs.k8s, 'ecdsa-with-SHA256', /Subject: O = kubernetes\n/, 'EC PRIVATE KEY'],
    ['k8sAggregator', bundle.certs.k8sAggregator, 'ecdsa-with-SHA256', /Subject: CN = front-proxy\n/, 'EC PRIVATE KEY'],
  ] as const;
  for (const [name, pair, sig, subject, keyLabel] of cases) {
    const file = join(dir, `${name}.crt`);
    writeFileSync(file, pair.crt);
    const v = openssl(['verify', '-CAfile', file, file]);
    assert.equal(v.code, 0, `${name}: ${v.out}`);
    const text = openssl(['x509', '-in', file, '-noout', '-text']).out;
    assert.match(text, new RegExp(`Signature Algorithm: ${sig}`), name);
    assert.match(text, subject, name);
    assert.match(text, /CA:TRUE/, name);
    const cert = parseCertificate(pair.crt);
    assert.equal(cert.notBefore.getTime(), now.getTime(), name);
    assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), CA_VALIDITY_SECONDS * 1000, name);
    assert.equal(CA_VALIDITY_SECONDS, 87600 * 3600);
    assert.equal(decodePem(pair.key).label, keyLabel, name);
  }
  assert.equal(decodePem(bundle.certs.k8sServiceAccount.key).label, 'EC PRIVATE KEY');
});

test('generateSecretsBundle: tokens, cluster identity and secretbox secret have upstream formats', () => {
  assert.match(bundle.secrets.bootstrapToken, TOKEN_PATTERN);
  assert.match(bundle.trustdInfo.token, TOKEN_PATTERN);
  assert.notEqual(bundle.secrets.bootstrapToken, bundle.trustdInfo.token);
  assert.equal(Buffer.from(bundle.cluster.id, 'base64url').length, 32);
  assert.match(bundle.cluster.id, /^[A-Za-z0-9_-]{43}=$/);
  assert.equal(Buffer.from(bundle.cluster.secret, 'base64').length, 32);
  assert.equal(Buffer.from(bundle.secrets.secretboxEncryptionSecret ?? '', 'base64').length, 32);
  assert.equal(bundle.secrets.aescbcEncryptionSecret, undefined);
});

test('generateSecretsBundle: the service-account key defaults to RSA-4096 as upstream', async () => {
  const phases: string[] = [];
  const b = await generateSecretsBundle({ onPhase: (p) => phases.push(p) });
  assert.equal(decodePem(b.certs.k8sServiceAccount.key).label, 'RSA PRIVATE KEY');
  const key = privateKeyFromPem(b.certs.k8sServiceAccount.key);
  assert.equal(key.privateKey.asymmetricKeyDetails?.modulusLength, 4096);
  assert.deepEqual(phases, ['keys', 'certs', 'rest']);
});

test('secrets.yaml: save then load returns an equal bundle, file mode 0600', async () => {
  const file = join(dir, 'secrets.yaml');
  await saveSecretsBundle(file, bundle);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const loaded = await loadSecretsBundle(file);
  assert.deepEqual(loaded, bundle);
  await assert.rejects(saveSecretsBundle(file, bundle), (err) => hasCode(err, Code.AlreadyExists));
  await saveSecretsBundle(file, bundle, { overwrite: true });
});

test('secrets.yaml: document has exactly upstream keys, PEMs base64-encoded, 4-space indent', () => {
  const text = serializeSecretsBundle(bundle);
  const doc = parseYaml(text) as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(doc), ['cluster', 'secrets', 'trustdinfo', 'certs']);
  assert.deepEqual(Object.keys(doc['cluster'] ?? {}), ['id', 'secret']);
  assert.deepEqual(Object.keys(doc['secrets'] ?? {}), ['bootstraptoken', 'secretboxencryptionsecret']);
  assert.deepEqual(Object.keys(doc['trustdinfo'] ?? {}), ['token']);
  const certs = doc['certs'] as Record<string, Record<string, string>>;
  assert.deepEqual(Object.keys(certs), ['etcd', 'k8s', 'k8saggregator', 'k8sserviceaccount', 'os']);
  assert.deepEqual(Object.keys(certs['k8sserviceaccount'] ?? {}), ['key']);
  assert.match(Buffer.from(certs['os']?.['crt'] ?? '', 'base64').toString(), /^-----BEGIN CERTIFICATE-----\n/);
  assert.match(Buffer.from(certs['os']?.['key'] ?? '', 'base64').toString(), /^-----BEGIN ED25519 PRIVATE KEY-----\n/);
  assert.match(text, /^cluster:\n {4}id: /);
  assert.match(text, /\n {8}crt: [A-Za-z0-9+/=]+\n/);
});

test('parseSecretsBundle: older bundles with aescbcencryptionsecret load; both secrets is an error', () => {
  const text = serializeSecretsBundle(bundle);
  const older = text.replace('secretboxencryptionsecret:', 'aescbcencryptionsecret:');
  const res = parseSecretsBundle(older);
  assert.ok('value' in res);
  assert.equal(res.value.secrets.aescbcEncryptionSecret, bundle.secrets.secretboxEncryptionSecret);
  const both = text.replace('    secretboxencryptionsecret:', '    aescbcencryptionsecret: abc\n    secretboxencryptionsecret:');
  const bad = parseSecretsBundle(both);
  assert.ok('error' in bad);
  assert.match(bad.error.message, /only one of/);
});

test('loadSecretsBundle: a bad file names the file and the field path', async () => {
  const text = serializeSecretsBundle(bundle);
  const cases: [string, string, RegExp][] = [
    ['no-os-key.yaml', text.replace(/(\n {4}os:\n {8}crt: \S+\n) {8}key: \S+\n?/, '$1'), /no-os-key\.yaml: certs\.os\.key: is required/],
    [
      'swapped.yaml',
      text.replace(/(\n {4}etcd:\n {8}crt: \S+\n {8}key: )\S+/, `$1${Buffer.from(bundle.certs.k8s.key).toString('base64')}`),
      /swapped\.yaml: certs\.etcd\.key: does not match the certificate/,
    ],
    ['no-token.yaml', text.replace(/\ntrustdinfo:\n {4}token: \S+/, '\ntrustdinfo: {}'), /no-token\.yaml: trustdinfo\.token: is required/],
    ['garbage-crt.yaml', text.replace(/(\n {4}k8s:\n {8}crt: )\S+/, '$1bm90IGEgcGVt'), /certs\.k8s\.crt: does not decode to a PEM block/],
    ['not-yaml.yaml', 'cluster: [unclosed', /not-yaml\.yaml: invalid YAML/],
  ];
  for (const [name, content, want] of cases) {
    const file = join(dir, name);
    writeFileSync(file, content);
    await assert.rejects(loadSecretsBundle(file), (err: Error) => {
      assert.ok(hasCode(err, Code.InvalidArgument), `${name}: ${err.message}`);
      assert.match(err.message, want);
      return true;
    });
  }
  await assert.rejects(loadSecretsBundle(join(dir, 'missing.yaml')), (err) => hasCode(err, Code.NotFound));
});

test('toConfigSecrets: gives the config generator every field, PEMs base64-encoded as configs hold them', () => {
  const c = toConfigSecrets(bundle);
  const pem = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
  assert.equal(c.clusterId, bundle.cluster.id);
  assert.equal(c.clusterSecret, bundle.cluster.secret);
  assert.equal(c.bootstrapToken, bundle.secrets.bootstrapToken);
  assert.equal(c.secretboxEncryptionSecret, bundle.secrets.secretboxEncryptionSecret);
  assert.equal(c.trustdToken, bundle.trustdInfo.token);
  assert.equal(pem(c.os.crt), bundle.certs.os.crt);
  assert.equal(pem(c.etcd.key), bundle.certs.etcd.key);
  assert.equal(pem(c.k8s.crt), bundle.certs.k8s.crt);
  assert.equal(pem(c.k8sAggregator.crt), bundle.certs.k8sAggregator.crt);
  assert.equal(pem(c.k8sServiceAccount.key), bundle.certs.k8sServiceAccount.key);
  assert.match(pem(c.os.crt), /^-----BEGIN CERTIFICATE-----/);
});
