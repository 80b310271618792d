import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateClientCertificate, machinePb, newTalosconfig, serializeTalosconfig, testService } from '@talos-ts/machinery';
import { fakeNode, testPki } from '../../testing/fake-node.ts';
import { main } from '../../main.ts';

/** The node side as machined answers it: a certificate for the asked roles, signed by the OS CA. */
async function clientConfigService() {
  const pki = await testPki();
  return testService(machinePb.MachineService, {
    generateClientConfiguration: async (req) => {
      const pair = await generateClientCertificate({ osCa: { crt: pki.caPem, key: pki.caKeyPem }, roles: req.roles, validitySeconds: Number(req.crtTtl?.seconds ?? 0n) });
      const cfg = newTalosconfig('demo', { endpoints: ['10.5.0.2'], caPem: pki.caPem, crtPem: pair.crt, keyPem: pair.key });
      return { messages: [{ ca: Buffer.from(pki.caPem), crt: Buffer.from(pair.crt), key: Buffer.from(pair.key), talosconfig: Buffer.from(serializeTalosconfig(cfg)) }] };
    },
    version: () => ({ messages: [{ metadata: { hostname: '10.5.0.2' }, version: { tag: 'v9' } }] }),
  });
}

async function runWith(talosconfig: string, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(['--talosconfig', talosconfig, ...args], { out: (t) => void out.push(t), err: (t) => void err.push(t) });
  return { code, out: out.join(''), err: err.join('') };
}

test('talosctl config new: writes a talosconfig whose certificate carries the roles and works against the node', async () => {
  await using n = await fakeNode([await clientConfigService()]);
  const path = join(n.dir, 'reader.yaml');
  const r = await n.run('config', 'new', path, '--roles', 'os:reader', '--crt-ttl', '2h');
  assert.equal(r.code, 0, r.err);
  const req = n.server.calls[0];
  assert.equal(req?.method.name, 'GenerateClientConfiguration');
  const info = await runWith(path, 'config', 'info');
  assert.equal(info.code, 0, info.err);
  assert.match(info.out, /^Current context: {5}demo\n/);
  assert.match(info.out, new RegExp(`Endpoints: {11}${n.server.address.replace(/\./g, '\\.')}\\n`));
  assert.match(info.out, /Roles: {15}os:reader\n/);
  assert.match(info.out, /Certificate expires: (1 hour|2 hours) from now/);
  // the new certificate is accepted by the node's mTLS (same OS CA)
  const v = await runWith(path, '-n', '10.5.0.2', 'version');
  assert.equal(v.code, 0, v.err);
  assert.match(v.out, /Tag:\s+v9/);
});

test('talosctl config new: refuses unknown roles, an existing file and more than one node, before any call', async () => {
  await using n = await fakeNode([await clientConfigService()], { nodes: ['10.5.0.2', '10.5.0.3'] });
  const bad = await n.run('-n', '10.5.0.2', 'config', 'new', join(n.dir, 'x'), '--roles', 'os:admin,os:root');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /unknown roles: os:root/);
  const two = await n.run('config', 'new', join(n.dir, 'y'));
  assert.match(two.err, /command "config new" requires exactly one node \(got 2\)/);
  const existing = join(n.dir, 'exists');
  writeFileSync(existing, 'keep me');
  const ex = await n.run('-n', '10.5.0.2', 'config', 'new', existing);
  assert.match(ex.err, /talosconfig file already exists: ".*exists"/);
  assert.equal(readFileSync(existing, 'utf8'), 'keep me');
  assert.equal(n.server.calls.length, 0);
});

test('talosctl config proxy-url: shows, sets, clears; refuses an unsupported scheme', async () => {
  await using n = await fakeNode([]);
  assert.equal((await n.run('config', 'proxy-url')).out, '\n');
  assert.equal((await n.run('config', 'proxy-url', ' socks5://127.0.0.1:1080 ')).code, 0);
  assert.match(readFileSync(n.talosconfig, 'utf8'), /\n {8}proxy-url: socks5:\/\/127\.0\.0\.1:1080\n/);
  assert.equal((await n.run('config', 'proxy-url')).out, 'socks5://127.0.0.1:1080\n');
  const bad = await n.run('config', 'proxy-url', 'ftp://x');
  assert.equal(bad.code, 1);
  assert.match(bad.err, /scheme "ftp" is not supported/);
  assert.equal((await n.run('config', 'proxy-url', 'direct')).code, 0);
  assert.equal((await n.run('config', 'proxy-url')).out, 'direct\n');
  assert.equal((await n.run('config', 'proxy-url', '')).code, 0);
  assert.doesNotMatch(readFileSync(n.talosconfig, 'utf8'), /proxy-url/);
});
