import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode } from '@talos-ts/cosi';
import {
  contextCredentials,
  loadTalosconfig,
  mergeTalosconfig,
  parseTalosconfig,
  resolveTalosconfigPath,
  saveTalosconfig,
  serializeTalosconfig,
  type Talosconfig,
} from './talosconfig.ts';
import { generateAdminTalosconfig } from '../secrets/admin.ts';
import { createSelfSignedCa, parseCertificate } from '../secrets/x509.ts';
import { generateKey } from '../secrets/keys.ts';
import { decodePem } from '../secrets/pem.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'talos-tc-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

const ctx = (endpoint: string) => ({ endpoints: [endpoint] });

test('mergeTalosconfig: clashing names become name-1, name-2, … and the current context follows', () => {
  let cfg: Talosconfig = { context: 'a', contexts: { a: ctx('1.1.1.1'), b: ctx('2.2.2.2') } };
  const incoming: Talosconfig = { context: 'a', contexts: { a: ctx('3.3.3.3') } };
  const first = mergeTalosconfig(cfg, incoming);
  assert.deepEqual(first.renames, [{ from: 'a', to: 'a-1' }]);
  assert.equal(first.config.context, 'a-1');
  cfg = first.config;
  const second = mergeTalosconfig(cfg, { context: 'a', contexts: { a: ctx('4.4.4.4'), c: ctx('5.5.5.5') } });
  assert.deepEqual(second.renames, [{ from: 'a', to: 'a-2' }]);
  assert.deepEqual(Object.keys(second.config.contexts).sort(), ['a', 'a-1', 'a-2', 'b', 'c']);
  assert.deepEqual(second.config.contexts['a']?.endpoints, ['1.1.1.1']);
  assert.deepEqual(second.config.contexts['a-2']?.endpoints, ['4.4.4.4']);
});

test('mergeTalosconfig: force replaces a clashing context instead of renaming', () => {
  const cfg: Talosconfig = { context: 'b', contexts: { a: ctx('1.1.1.1'), b: ctx('2.2.2.2') } };
  const res = mergeTalosconfig(cfg, { context: 'a', contexts: { a: ctx('9.9.9.9') } }, { force: true });
  assert.deepEqual(res.renames, []);
  assert.deepEqual(res.config.contexts['a']?.endpoints, ['9.9.9.9']);
  assert.equal(res.config.context, 'a');
  assert.equal(Object.keys(res.config.contexts).length, 2);
});

test('resolveTalosconfigPath: flag, then TALOSCONFIG, then XDG_CONFIG_HOME, then ~/.talos/config', () => {
  const env = { TALOSCONFIG: '/env/tc', XDG_CONFIG_HOME: '/xdg' };
  assert.deepEqual(resolveTalosconfigPath({ flag: '/flag/tc', env, homeDir: '/home/u' }), { path: '/flag/tc', source: 'flag' });
  assert.deepEqual(resolveTalosconfigPath({ env, homeDir: '/home/u' }), { path: '/env/tc', source: 'env' });
  assert.deepEqual(resolveTalosconfigPath({ env: { XDG_CONFIG_HOME: '/xdg' }, homeDir: '/home/u' }), {
    path: '/xdg/talos/config.yaml',
    source: 'xdg',
  });
  assert.deepEqual(resolveTalosconfigPath({ flag: '', env: {}, homeDir: '/home/u' }), { path: '/home/u/.talos/config', source: 'home' });
});

test('talosconfig: serialize/parse round trip in upstream layout; deprecated target joins endpoints', () => {
  const cfg: Talosconfig = {
    context: 'prod',
    contexts: { prod: { endpoints: ['10.0.0.1', '10.0.0.2'], nodes: ['10.0.0.3'], ca: 'Y2E=', crt: 'Y3J0', key: 'a2V5' } },
  };
  const text = serializeTalosconfig(cfg);
  assert.match(text, /^context: prod\ncontexts:\n {4}prod:\n {8}endpoints:\n {12}- 10\.0\.0\.1\n/);
  const back = parseTalosconfig(text);
  assert.ok('value' in back);
  assert.deepEqual(back.value, cfg);
  const old = parseTalosconfig('context: x\ncontexts:\n  x:\n    target: 1.2.3.4\n    endpoints: []\n');
  assert.ok('value' in old);
  assert.deepEqual(old.value.contexts['x']?.endpoints, ['1.2.3.4']);
  const bad = parseTalosconfig('context: x\ncontexts:\n  x:\n    endpoints: 5\n');
  assert.ok('error' in bad);
  assert.equal(bad.error.path, 'contexts.x.endpoints');
});

test('loadTalosconfig: missing file is empty only when allowed; bad file names the field', async () => {
  const missing = join(dir, 'nope', 'config');
  assert.deepEqual(await loadTalosconfig(missing, { allowMissing: true }), { context: '', contexts: {} });
  await assert.rejects(loadTalosconfig(missing), (err) => hasCode(err, Code.NotFound));
  const bad = join(dir, 'bad');
  writeFileSync(bad, 'context: x\ncontexts:\n  x:\n    ca: "!!!"\n');
  await assert.rejects(loadTalosconfig(bad), /contexts\.x\.ca: must be base64/);
  const saved = join(dir, 'deep', 'dir', 'config');
  await saveTalosconfig(saved, { context: 'a', contexts: { a: ctx('1.1.1.1') } });
  assert.equal(statSync(saved).mode & 0o777, 0o600);
  assert.deepEqual((await loadTalosconfig(saved)).contexts['a'], ctx('1.1.1.1'));
});

test('generateAdminTalosconfig: Ed25519 client cert, O=os:admin, ClientAuth only, 1 year, chains to the OS CA', async () => {
  const now = new Date(Date.UTC(2026, 5, 1));
  const key = await generateKey('ed25519');
  const ca = createSelfSignedCa({ key, subject: { organizations: ['talos'] }, notBefore: now, notAfter: new Date(now.getTime() + 10 * 365 * 86400_000) });
  const cfg = await generateAdminTalosconfig({
    contextName: 'mycluster',
    endpoints: ['10.5.0.2'],
    nodes: ['10.5.0.3'],
    osCa: { crt: ca.crtPem, key: ca.keyPem },
    now,
  });
  assert.equal(cfg.context, 'mycluster');
  const c = cfg.contexts['mycluster'];
  assert.ok(c);
  assert.deepEqual(c.endpoints, ['10.5.0.2']);
  assert.deepEqual(c.nodes, ['10.5.0.3']);
  const creds = contextCredentials(c);
  assert.equal(creds.caPem, ca.crtPem);
  assert.equal(decodePem(creds.keyPem).label, 'ED25519 PRIVATE KEY');
  const cert = parseCertificate(creds.crtPem);
  assert.deepEqual(cert.subject.organizations, ['os:admin']);
  assert.deepEqual(cert.extKeyUsage, ['clientAuth']);
  assert.deepEqual(cert.keyUsage, ['digitalSignature']);
  assert.equal(cert.notAfter.getTime() - cert.notBefore.getTime(), 365 * 86400_000);
  assert.equal(cert.publicKey.asymmetricKeyType, 'ed25519');

  const caFile = join(dir, 'os.crt');
  const crtFile = join(dir, 'admin.crt');
  writeFileSync(caFile, ca.crtPem);
  writeFileSync(crtFile, creds.crtPem);
  const v = spawnSync('openssl', ['verify', '-purpose', 'sslclient', '-attime', String(now.getTime() / 1000 + 60), '-CAfile', caFile, crtFile], { encoding: 'utf8' });
  assert.equal(v.status, 0, v.stdout + v.stderr);
  const asServer = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-attime', String(now.getTime() / 1000 + 60), '-CAfile', caFile, crtFile], { encoding: 'utf8' });
  assert.notEqual(asServer.status, 0, 'a ClientAuth-only certificate must not pass as a server certificate');
  const text = spawnSync('openssl', ['x509', '-in', crtFile, '-noout', '-text'], { encoding: 'utf8' }).stdout;
  assert.match(text, /Extended Key Usage:\s*\n\s+TLS Web Client Authentication\n/);
  assert.match(text, /Subject: O = os:admin\n/);
});
