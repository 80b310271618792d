import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode, nullLogger } from '@talos-ts/cosi';
import { InstallerFiles } from '@talos-ts/machinery';
import { TalosNode } from './node.ts';

const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];

/** An image directory on 127.0.29.1 whose files hold `content`; `corrupt` names a file served with other bytes than the manifest says. */
async function imageServer(t: { after: (fn: () => Promise<void>) => void }, corrupt?: string): Promise<string> {
  const files: Record<string, Buffer> = {};
  for (const name of Object.values(InstallerFiles)) if (name !== InstallerFiles.manifest) files[name] = Buffer.from(`${name} of version B`);
  const artifacts = Object.fromEntries(Object.entries(files).map(([n, b]) => [n, { sha256: createHash('sha256').update(b).digest('hex'), sizeBytes: b.length }]));
  if (corrupt) files[corrupt] = Buffer.from(`${corrupt} of version X`);
  files[InstallerFiles.manifest] = Buffer.from(JSON.stringify({ artifacts }));
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
