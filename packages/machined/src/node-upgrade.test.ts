import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import { fromBinary } from '@bufbuild/protobuf';
import { InstallerFiles, machinePb, UpgradeStatusId, UpgradeStatusType } from '@talos-ts/machinery';
import { TalosNode } from './node.ts';

const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

const trusted = generateKeyPairSync('ed25519');
const TRUSTED_PEM = trusted.publicKey.export({ type: 'spki', format: 'pem' }).toString();

/**
 * An image directory on 127.0.29.1, signed by the key the test nodes trust (or `signer`);
 * `corrupt` names a file served with other bytes than the manifest says.
 */
async function imageServer(t: { after: (fn: () => Promise<void>) => void }, corrupt?: string, signer = trusted.privateKey): Promise<string> {
  const files: Record<string, Buffer> = {};
  for (const name of Object.values(InstallerFiles)) if (name !== InstallerFiles.manifest) files[name] = Buffer.from(`${name} of version B`);
  const artifacts = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, { sha256: createHash('sha256').update(b).digest('hex'), sizeBytes: b.length }]));
  if (corrupt) files[corrupt] = Buffer.from(`${corrupt} of version X`);
  const manifest = Buffer.from(JSON.stringify({ version: '0.2.0', artifacts }));
  files[InstallerFiles.manifest] = manifest;
  files['manifest.sig'] = Buffer.from(sign(null, createHash('sha256').update(manifest).digest(), signer).toString('base64'));
  const server: Server = createServer((req, res) => {
    const body = files[(req.url ?? '').replace(/^\/img\//, '')];
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.29.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return `http://127.0.29.1:${port}/img/`;
}

function node(t: { after: (fn: () => Promise<void>) => void }, written: unknown[]): TalosNode {
  const dir = mkdtempSync(join(tmpdir(), 'upg-node-'));
  const n = new TalosNode({
    platform: 'container', stateDir: dir, address: '127.0.29.2', logger: nullLogger, apidCommand: idle, trustdCommand: idle,
    upgradeBoot: (assets) => void written.push(assets),
    trustedImageKey: () => TRUSTED_PEM,
  });
  t.after(async () => {
    await n[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  return n;
}

test('an upgrade from a server that is down fails Unavailable and writes nothing', async (t) => {
  const written: unknown[] = [];
  await assert.rejects(node(t, written).upgrade({ url: 'http://127.0.29.1:9/img/' }), (e) => hasCode(e, Code.Unavailable));
  assert.equal(written.length, 0);
});

test('an upgrade from a missing image directory fails NotFound and writes nothing', async (t) => {
  const url = await imageServer(t);
  const written: unknown[] = [];
  await assert.rejects(node(t, written).upgrade({ url: url.replace('/img/', '/none/') }), (e) => hasCode(e, Code.NotFound));
  assert.equal(written.length, 0);
});

test('an upgrade whose kernel does not match the manifest fails DataLoss and writes nothing', async (t) => {
  const url = await imageServer(t, InstallerFiles.kernel);
  const written: unknown[] = [];
  await assert.rejects(node(t, written).upgrade({ url }), (e) => hasCode(e, Code.DataLoss));
  assert.equal(written.length, 0);
});

test('an upgrade signed by another key than the running image trusts fails PermissionDenied and writes nothing', async (t) => {
  const url = await imageServer(t, undefined, generateKeyPairSync('ed25519').privateKey);
  const written: unknown[] = [];
  await assert.rejects(node(t, written).upgrade({ url }), (e) => hasCode(e, Code.PermissionDenied));
  assert.equal(written.length, 0);
});

test('a node without A/B slots refuses an upgrade with FailedPrecondition', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'upg-node-'));
  const n = new TalosNode({ platform: 'container', stateDir: dir, address: '127.0.29.3', logger: nullLogger, apidCommand: idle, trustdCommand: idle });
  t.after(async () => {
    await n[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  await assert.rejects(n.upgrade({ url: 'http://127.0.29.1:9/img/' }), (e) => hasCode(e, Code.FailedPrecondition));
  await assert.rejects(n.rollback(), (e) => hasCode(e, Code.FailedPrecondition));
});

test('a boot that finds its upgrade never came up reports it: UpgradeStatus failed and a failed upgrade SequenceEvent', async (t) => {
  const written: unknown[] = [];
  const n = node(t, written);
  await n.start();
  n.reportBootSettled({ slot: 'A', attempt: { slot: 'B', version: '0.3.0', booted: false } });
  const status = n.state.get<{ bootedSlot: string; lastUpgrade: string; lastUpgradeSlot: string; lastUpgradeVersion: string }>({ namespace: 'runtime', type: UpgradeStatusType, id: UpgradeStatusId });
  assert.deepEqual(status.spec, { bootedSlot: 'A', lastUpgrade: 'failed', lastUpgradeSlot: 'B', lastUpgradeVersion: '0.3.0' });
  // History replayed, then live events for a bounded moment.
  const signal = AbortSignal.timeout(300);
  const events: string[] = [];
  for await (const e of n.events.subscribe({ signal, tailEvents: -1 })) {
    if (e.type !== 'machine.SequenceEvent') continue;
    const ev = fromBinary(machinePb.SequenceEventSchema, (e.payload as { value: Uint8Array }).value);
    events.push(`${ev.sequence} ${ev.error?.message ?? ''}`);
  }
  assert.match(events.join('\n'), /^upgrade upgrade to 0\.3\.0 in slot B did not boot; rolled back to slot A$/m);
  // The next boot on A has nothing pending: the status says so.
  n.reportBootSettled({ slot: 'A' });
  assert.equal(n.state.get<{ lastUpgrade: string }>({ namespace: 'runtime', type: UpgradeStatusType, id: UpgradeStatusId }).spec.lastUpgrade, 'none');
});

test('a second upgrade while the first still fetches its image is refused at once; once the first failed, upgrades are taken again', async (t) => {
  // The first fetch hangs until released, then finds no image.
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  const server: Server = createServer((_req, res) => void held.then(() => res.writeHead(404).end()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.29.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.29.1:${(server.address() as { port: number }).port}/img/`;
  const written: unknown[] = [];
  const n = node(t, written);
  const first = n.upgrade({ url });
  await assert.rejects(n.upgrade({ url }), (e) => hasCode(e, Code.FailedPrecondition) && /another upgrade is already in progress/.test((e as Error).message));
  release();
  await assert.rejects(first, (e) => hasCode(e, Code.NotFound));
  await assert.rejects(n.upgrade({ url }), (e) => hasCode(e, Code.NotFound));
  assert.equal(written.length, 0);
});
