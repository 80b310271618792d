import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, parseTalosconfig, validateConfig, loadSecretsBundle, type MachineConfig } from '@talos-ts/machinery';
import { main } from '../../main.ts';

let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'talosctl-genconfig-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));

async function run(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

function load(file: string): MachineConfig {
  const r = loadConfig(readFileSync(file, 'utf8'), { filename: file });
  if (r.error) throw r.error;
  return r.value;
}

async function secrets(): Promise<string> {
  const file = join(dir, 'secrets.yaml');
  const r = await run('gen', 'secrets', '--talos-version', 'v1.6', '-o', file, '--force');
  assert.equal(r.code, 0, r.err);
  return file;
}

test('gen config: controlplane, worker and talosconfig load, validate and share the secrets bundle', async () => {
  const s = await secrets();
  const out = join(dir, 'out1');
  const r = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-o', out, '--additional-sans', 'demo.example.com,10.5.0.100');
  assert.equal(r.code, 0, r.err);
  const cp = load(join(out, 'controlplane.yaml'));
  const worker = load(join(out, 'worker.yaml'));
  assert.deepEqual(validateConfig(cp, { mode: 'metal' }).errors, []);
  assert.deepEqual(validateConfig(worker, { mode: 'metal' }).errors, []);
  assert.equal(cp.config.machine?.type, 'controlplane');
  assert.equal(worker.config.machine?.type, 'worker');
  assert.equal(cp.config.cluster?.controlPlane?.endpoint, 'https://10.5.0.2:6443');
  assert.equal(cp.config.cluster?.clusterName, 'demo');
  const bundle = await loadSecretsBundle(s);
  assert.equal(cp.config.cluster?.id, bundle.cluster.id);
  assert.equal(worker.config.machine?.token, bundle.trustdInfo.token);
  assert.equal(Buffer.from(cp.config.machine?.ca?.key ?? '', 'base64').toString(), bundle.certs.os.key);
  assert.ok(!worker.config.machine?.ca?.key, 'a worker config carries no OS CA key');
  assert.ok(cp.config.machine?.certSANs?.includes('demo.example.com'));
  for (const f of ['controlplane.yaml', 'worker.yaml', 'talosconfig']) assert.equal(statSync(join(out, f)).mode & 0o777, 0o600, f);

  const parsed = parseTalosconfig(readFileSync(join(out, 'talosconfig'), 'utf8'));
  if ('error' in parsed) throw parsed.error;
  const tc = parsed.value;
  assert.equal(tc.context, 'demo');
  const ctx = tc.contexts['demo'];
  assert.ok(ctx);
  assert.equal(Buffer.from(ctx.ca ?? '', 'base64').toString(), bundle.certs.os.crt);
  const crtFile = join(dir, 'admin.crt');
  const caFile = join(dir, 'os.crt');
  writeFileSync(crtFile, Buffer.from(ctx.crt ?? '', 'base64'));
  writeFileSync(caFile, bundle.certs.os.crt);
  const verify = spawnSync('openssl', ['verify', '-CAfile', caFile, '-purpose', 'sslclient', crtFile], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  const text = spawnSync('openssl', ['x509', '-in', crtFile, '-noout', '-subject'], { encoding: 'utf8' }).stdout;
  assert.match(text, /O\s*=\s*os:admin/);
});

test('gen config: every emitted field carries a comment, as upstream output does', async () => {
  const r = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', await secrets(), '-t', 'controlplane', '-o', '-');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^version: v1alpha1/m);
  const comments = r.out.split('\n').filter((l) => /^\s*#/.test(l)).length;
  assert.ok(comments > 30, `only ${comments} comment lines`);
});

test('gen config --with-docs=false: the same config without a single comment', async () => {
  const s = await secrets();
  const withDocs = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-t', 'controlplane', '-o', '-');
  const bare = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-t', 'controlplane', '-o', '-', '--with-docs=false', '--with-examples=false');
  assert.equal(bare.code, 0, bare.err);
  assert.deepEqual(bare.out.split('\n').filter((l) => l.includes('#')), []);
  assert.deepEqual(parse(bare.out), parse(withDocs.out));
});

test('gen config: common and per-type patches apply; a patch that breaks the config is refused', async () => {
  const s = await secrets();
  const out = join(dir, 'out2');
  writeFileSync(join(dir, 'cp.yaml'), 'machine:\n  network:\n    hostname: cp-1\n');
  const r = await run(
    'gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-o', out,
    '--config-patch', '[{"op":"add","path":"/machine/sysctls","value":{"vm.swappiness":"10"}}]',
    '--config-patch-control-plane', `@${join(dir, 'cp.yaml')}`,
    '--config-patch-worker', 'cluster:\n  discovery:\n    enabled: false\n',
  );
  assert.equal(r.code, 0, r.err);
  const cp = load(join(out, 'controlplane.yaml'));
  const worker = load(join(out, 'worker.yaml'));
  assert.equal(cp.config.machine?.network?.hostname, 'cp-1');
  assert.equal(worker.config.machine?.network?.hostname, undefined);
  assert.equal(cp.config.machine?.sysctls?.['vm.swappiness'], '10');
  assert.equal(worker.config.machine?.sysctls?.['vm.swappiness'], '10');
  assert.equal(worker.config.cluster?.discovery?.enabled, false);
  assert.equal(cp.config.cluster?.discovery?.enabled, true);

  const bad = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-o', join(dir, 'out3'), '--config-patch', 'machine:\n  nosuchfield: 1\n');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /nosuchfield/);
});

test('gen config: refuses to overwrite without --force, and rejects a bad endpoint or output type', async () => {
  const s = await secrets();
  const out = join(dir, 'out4');
  assert.equal((await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-o', out)).code, 0);
  const again = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-o', out);
  assert.equal(again.code, 1);
  assert.match(again.err, /already exists, use --force/);
  assert.equal((await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-o', out, '--force')).code, 0);
  assert.match((await run('gen', 'config', 'demo', 'http://10.5.0.2', '-o', join(dir, 'x'))).err, /https URL with a port/);
  assert.match((await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '-t', 'bogus', '-o', join(dir, 'y'))).err, /invalid output type "bogus"/);
});

test('gen config --with-kubespan: both configs enable KubeSpan and stay valid; the default leaves it out', async () => {
  const s = await secrets();
  const on = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-t', 'worker', '-o', '-', '--with-kubespan');
  assert.equal(on.code, 0, on.err);
  const doc = parse(on.out) as { machine: { network: { kubespan?: { enabled: boolean } } }; cluster: { discovery: { enabled: boolean } } };
  assert.deepEqual(doc.machine.network.kubespan, { enabled: true });
  assert.equal(doc.cluster.discovery.enabled, true);
  const off = await run('gen', 'config', 'demo', 'https://10.5.0.2:6443', '--with-secrets', s, '-t', 'worker', '-o', '-', '--with-kubespan=false');
  assert.equal(off.code, 0, off.err);
  assert.equal((parse(off.out) as { machine: { network: { kubespan?: unknown } } }).machine.network.kubespan, undefined);
});
