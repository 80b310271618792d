import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { nullLogger } from '@talos-ts/cosi';
import { generateMachineConfigs, generateSecretsBundle, machinePb, MetaTag, toConfigSecrets } from '@talos-ts/machinery';
import type { EventBus } from '../events/bus.ts';
import { metaPartition } from '../linux/meta-partition.ts';
import { MetaStore } from '../meta/store.ts';
import { TalosNode } from '../node.ts';
import { signedInstallerImage } from '@talos-ts/testkit';
import { stageUpgrade, takeStagedUpgrade } from './staged-upgrade.ts';

// upgrade --stage end to end on the container platform, which reboots in-process: META is a real
// file standing in for the partition, the image directory is served over loopback HTTP, and the
// slot write (metal's) is recorded through the node option.
const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
let host = 40;

function metaFile(dir: string): string {
  const path = join(dir, 'META');
  writeFileSync(path, Buffer.alloc(1024 * 1024));
  return path;
}

/** Signed stand-in installer files, served on loopback as an image directory; nodes trust its key. */
const image = signedInstallerImage('v2');

/** Serves {@link image} on loopback. */
async function imageServer(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const server: Server = createServer((req, res) => {
    const path = req.url ?? '';
    const body = path.startsWith('/v2/') ? image.files[path.slice('/v2/'.length)] : undefined;
    res.writeHead(body ? 200 : 404).end(body);
  });
  const address = `127.0.34.${host++}`;
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as { port: number }).port;
  return `http://${address}:${port}/v2/`;
}

async function node(t: { after: (fn: () => Promise<void>) => void }, written: string[][]) {
  const address = `127.0.34.${host++}`;
  const dir = mkdtempSync(join(tmpdir(), 'machined-stage-'));
  const g = generateMachineConfigs({ clusterName: 'mt-stage', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  mkdirSync(join(dir, 'state'));
  writeFileSync(join(dir, 'state', 'config.yaml'), g.worker.toYaml());
  const meta = metaFile(dir);
  const n = new TalosNode({
    platform: 'container', stateDir: join(dir, 'state'), address, logger: nullLogger, apidCommand: idle, trustdCommand: idle, restartIntervalMs: 200, metaPartition: meta, trustedImageKey: () => image.trustedKeyPem,
    upgradeBoot: (assets) => void written.push([assets.kernel, assets.initramfs, assets.rootfsCpio].map((f) => readFileSync(f, 'utf8'))),
  });
  t.after(async () => {
    await n[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  });
  return { node: n, meta };
}

async function sequences(events: EventBus): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  const timer = setTimeout(() => ac.abort(), 50);
  for await (const e of events.subscribe({ signal: ac.signal, tailEvents: -1 })) {
    if (e.type !== 'machine.SequenceEvent') continue;
    const s = fromBinary(machinePb.SequenceEventSchema, (e.payload as Any).value);
    out.push(`${s.sequence} ${machinePb.SequenceEvent_Action[s.action]}`);
  }
  clearTimeout(timer);
  return out;
}

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('staged upgrade: META keeps the image and options until taken, and taking them clears both tags', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'stage-meta-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = metaFile(dir);
  stageUpgrade(new MetaStore({ device: metaPartition(path), logger: nullLogger }), { image: 'http://x/v2/', options: { preserve: true, force: false } });
  const reread = new MetaStore({ device: metaPartition(path), logger: nullLogger });
  assert.equal(reread.read(MetaTag.StagedUpgradeImageRef), 'http://x/v2/');
  assert.deepEqual(JSON.parse(reread.read(MetaTag.StagedUpgradeInstallOptions) ?? ''), { preserve: true, force: false });
  assert.deepEqual(takeStagedUpgrade(reread), { image: 'http://x/v2/', options: { preserve: true, force: false } });
  assert.deepEqual(new MetaStore({ device: metaPartition(path), logger: nullLogger }).tags(), []);
  assert.equal(takeStagedUpgrade(reread), undefined);
});

test('staged upgrade: upgrade --stage reboots, the next boot writes the slot from the staged image before booting, then boots once more with META cleared', async (t) => {
  const url = await imageServer(t);
  const written: string[][] = [];
  const { node: n, meta } = await node(t, written);
  await n.start();
  const first = n.supervisor;
  assert.ok(first);
  await n.upgrade({ url, stage: true, preserve: true });
  await until('the staged upgrade wrote the slot', () => written.length === 1);
  assert.deepEqual(written[0], ['vmlinuz of v2', 'initramfs.img of v2', 'rootfs.cpio of v2']);
  await until('booted again', () => n.supervisor !== undefined && n.supervisor !== first);
  assert.deepEqual(new MetaStore({ device: metaPartition(meta), logger: nullLogger }).tags(), [], 'the staged tags are gone');
  const seq = (await sequences(n.events)).filter((l) => !l.startsWith('initialize'));
  assert.deepEqual(seq, ['boot START', 'boot STOP', 'stageUpgrade START', 'stageUpgrade STOP', 'upgrade START', 'upgrade STOP', 'boot START', 'boot STOP']);
  assert.equal(written.length, 1, 'the upgrade ran once');
});

test('staged upgrade: an image that cannot be fetched at boot leaves the node booting its current version, and is not retried', async (t) => {
  const url = await imageServer(t);
  const written: string[][] = [];
  const { node: n, meta } = await node(t, written);
  await n.start();
  const first = n.supervisor;
  await n.upgrade({ url: url.replace('/v2/', '/missing/'), stage: true });
  await until('booted again', () => n.supervisor !== undefined && n.supervisor !== first);
  assert.deepEqual(written, []);
  assert.deepEqual(new MetaStore({ device: metaPartition(meta), logger: nullLogger }).tags(), []);
  assert.equal(n.inMaintenance, false);
  const seq = (await sequences(n.events)).filter((l) => !l.startsWith('initialize'));
  assert.deepEqual(seq, ['boot START', 'boot STOP', 'stageUpgrade START', 'stageUpgrade STOP', 'boot START', 'boot STOP']);
});
