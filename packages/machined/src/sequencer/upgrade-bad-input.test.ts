import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import type { Any } from '@bufbuild/protobuf/wkt';
import { Code, nullLogger, TalosError } from '@talos-ts/cosi';
import {
  bootChoiceEnv, commonPb, encodeGrubEnv, generateMachineConfigs, generateSecretsBundle, grubConfig, machinePb, pushImageLayout, slotFiles, toConfigSecrets, writeInstallerLayout, type ImageManifestDoc,
} from '@talos-ts/machinery';
import { hasDockerRegistry, signedInstallerImage, startRegistry, type RegistryServer, type SignedInstallerImage } from '@talos-ts/testkit';
import type { EventBus } from '../events/bus.ts';
import { readBootChoice, writeInactiveSlot } from '../linux/bootloader.ts';
import { TalosNode } from '../node.ts';
import { isUpgradeInProgress } from './upgrade-gate.ts';

// TalosNode.upgrade (what MachineService/Upgrade calls) on the real runtime, with a BOOT root in a
// temporary directory written by the real slot writer: bad installer references and a second
// upgrade while one runs are refused, and slot B, grubenv and grub.cfg stay as they were.

const idle = [process.execPath, '-e', 'setInterval(() => {}, 1000)'];
const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const REGISTRY_ADDRESS = '127.0.41.4';
const DOWN = `${REGISTRY_ADDRESS}:5148`;
const hasRegistry = hasDockerRegistry();
let dir: string;
let registry: RegistryServer | undefined;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'b12-upgrade-'));
  if (hasRegistry) registry = await startRegistry({ address: REGISTRY_ADDRESS, port: 5144 });
});

after(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** A BOOT root as an install leaves it: slot A's files, grub.cfg, grubenv booting A. */
function bootRoot(name: string): string {
  const root = join(dir, name);
  mkdirSync(join(root, 'grub'), { recursive: true });
  mkdirSync(join(root, 'A'));
  for (const f of Object.values(slotFiles('A'))) writeFileSync(join(root, f), `${f} of the running version`);
  writeFileSync(join(root, 'grub/grub.cfg'), grubConfig({ cmdline: { A: ['console=ttyS0'], B: ['console=ttyS0'] } }));
  writeFileSync(join(root, 'grub/grubenv'), encodeGrubEnv(bootChoiceEnv({ defaultSlot: 'A' })));
  return root;
}

/** Everything in a BOOT root a failed upgrade must leave alone. */
function snapshot(root: string): string {
  return JSON.stringify([existsSync(join(root, 'B')), readFileSync(join(root, 'grub/grub.cfg'), 'utf8'), readFileSync(join(root, 'grub/grubenv')).toString('base64')]);
}

let host = 10;
/** A configured worker on the container platform whose A/B slots live in `root`. */
async function node(t: { after: (fn: () => Promise<void>) => void }, root: string, trustedKeyPem: string): Promise<{ node: TalosNode; writes: () => number }> {
  const address = `127.0.41.${host++}`;
  const state = mkdtempSync(join(dir, 'state-'));
  const g = generateMachineConfigs({ clusterName: 'b12', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  writeFileSync(join(state, 'config.yaml'), g.worker.toYaml());
  let writes = 0;
  const n = new TalosNode({
    platform: 'container', stateDir: state, address, logger: nullLogger, apidCommand: idle, trustdCommand: idle, restartIntervalMs: 200,
    upgradeBoot: (assets) => {
      writes++;
      writeInactiveSlot(root, 'A', assets);
    },
    trustedImageKey: () => trustedKeyPem,
  });
  t.after(async () => {
    await n[Symbol.asyncDispose]();
  });
  await n.start();
  return { node: n, writes: () => writes };
}

/** `sequence NAME ACTION[ CODE]` lines of the node's events so far. */
async function sequences(events: EventBus): Promise<string[]> {
  const ac = new AbortController();
  const out: string[] = [];
  const timer = setTimeout(() => ac.abort(), 50);
  for await (const e of events.subscribe({ signal: ac.signal, tailEvents: -1 })) {
    if (e.type !== 'machine.SequenceEvent') continue;
    const s = fromBinary(machinePb.SequenceEventSchema, (e.payload as Any).value);
    out.push(`${s.sequence} ${machinePb.SequenceEvent_Action[s.action]}${s.error ? ` ${commonPb.Code[s.error.code]}` : ''}`);
  }
  clearTimeout(timer);
  return out;
}

async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** An image directory server whose first vmlinuz answer waits for `release()`: a slow first download. */
async function slowServer(image: SignedInstallerImage): Promise<{ url: string; requests: string[]; held: Promise<void>; release: () => void; server: Server }> {
  const requests: string[] = [];
  let held!: () => void;
  let release!: () => void;
  const heldP = new Promise<void>((r) => (held = r));
  const released = new Promise<void>((r) => (release = r));
  let holding = false;
  const server = createServer((req, res) => {
    res.setHeader('connection', 'close');
    const name = (req.url ?? '/').replace(/^\/img\//, '');
    requests.push(name);
    const bytes = image.files[name];
    if (!bytes) {
      res.statusCode = 404;
      res.end();
      return;
    }
    if (name === 'vmlinuz' && !holding) {
      holding = true;
      held();
      void released.then(() => res.end(bytes));
      return;
    }
    res.end(bytes);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.41.3', r));
  return { url: `http://127.0.41.3:${(server.address() as AddressInfo).port}/img/`, requests, held: heldP, release, server };
}

test('upgrade: a second upgrade while the first downloads is refused at once with FailedPrecondition, fetches nothing, and the first completes', { timeout: 60_000 }, async (t) => {
  const v2 = signedInstallerImage('v2');
  const srv = await slowServer(v2);
  t.after(() => {
    // Also when an assertion failed with the first download still held.
    srv.release();
    srv.server.closeAllConnections();
    return new Promise<void>((r) => srv.server.close(() => r()));
  });
  const root = bootRoot('one-at-a-time');
  const { node: n, writes } = await node(t, root, v2.trustedKeyPem);
  const before = n.supervisor;

  const first = n.upgrade({ url: srv.url });
  await srv.held;
  const fetchedSoFar = srv.requests.length;
  await assert.rejects(n.upgrade({ url: `${srv.url}?second` }), (e: unknown) => {
    assert.ok(isUpgradeInProgress(e), String(e));
    assert.equal(e.code, Code.FailedPrecondition);
    assert.match(e.message, /^upgrade to http:\/\/127\.0\.41\.3:\d+\/img\/\?second refused: another upgrade is already in progress \(to http:\/\/127\.0\.41\.3:\d+\/img\/, actor [0-9a-f-]{36}, fetching the installer, started \d+ s ago\)/);
    return true;
  });
  // Staging is refused the same way: META is not touched while an upgrade is in flight.
  await assert.rejects(n.upgrade({ url: srv.url, stage: true }), isUpgradeInProgress);
  assert.equal(srv.requests.length, fetchedSoFar, 'the refused calls fetched nothing');
  assert.equal(writes(), 0);

  srv.release();
  const actorId = await first;
  assert.match(actorId, /^[0-9a-f-]{36}$/);
  await until('the node rebooted after the upgrade', () => n.supervisor !== undefined && n.supervisor !== before);
  assert.equal(writes(), 1);
  assert.equal(readFileSync(join(root, 'B/vmlinuz'), 'utf8'), 'vmlinuz of v2');
  const choice = readBootChoice(join(root, 'grub/grubenv'));
  assert.ok('value' in choice && choice.value.nextSlot === 'B' && choice.value.defaultSlot === 'A', JSON.stringify(choice));
  const seen = await sequences(n.events);
  assert.deepEqual(seen.filter((l) => l.startsWith('upgrade') || l.startsWith('stageUpgrade')), ['upgrade START', 'upgrade STOP']);

  // Once the first ended, the turn is free: the next call is judged on its own (here: a missing image).
  await assert.rejects(n.upgrade({ url: `http://127.0.41.3:${(srv.server.address() as AddressInfo).port}/missing/` }), (e: unknown) => e instanceof TalosError && e.code === Code.NotFound);
});

test('upgrade: asked while a reboot runs, it is refused as locked before any download, and the reboot goes on', { timeout: 60_000 }, async (t) => {
  const v2 = signedInstallerImage('v2');
  const srv = await slowServer(v2);
  t.after(() => new Promise<void>((r) => srv.server.close(() => r())));
  const { node: n, writes } = await node(t, bootRoot('locked'), v2.trustedKeyPem);
  const before = n.supervisor;
  await n.reboot();
  await assert.rejects(n.upgrade({ url: srv.url }), (e: unknown) => e instanceof TalosError && e.name === 'SequenceLockedError' && e.code === Code.FailedPrecondition && /upgrade sequence not started: the reboot sequence is running/.test(e.message));
  await until('booted again', () => n.supervisor !== undefined && n.supervisor !== before);
  assert.deepEqual(srv.requests, [], 'nothing was fetched');
  assert.equal(writes(), 0);
  assert.deepEqual((await sequences(n.events)).filter((l) => l.startsWith('upgrade')), ['upgrade NOOP LOCKED']);
  // The turn was given back: once the reboot is over an upgrade goes ahead.
  srv.release();
  await n.upgrade({ url: srv.url });
  await until('slot B written', () => writes() === 1);
});

test('upgrade: a failed download frees the turn, so the operator can retry at once', { timeout: 60_000 }, async (t) => {
  const v2 = signedInstallerImage('v2');
  const srv = await slowServer(v2);
  t.after(() => new Promise<void>((r) => srv.server.close(() => r())));
  const root = bootRoot('retry');
  const { node: n } = await node(t, root, v2.trustedKeyPem);
  const missing = srv.url.replace(/\/img\/$/, '/missing/');
  for (let i = 0; i < 2; i++) {
    await assert.rejects(n.upgrade({ url: missing }), (e: unknown) => e instanceof TalosError && e.code === Code.NotFound && e.message.includes(missing));
  }
});

test('upgrade over OCI: a missing tag, a missing repository, a registry down, another signer and a corrupt layer are each refused; slot B, grub.cfg and grubenv stay, the node keeps running', { skip: !hasRegistry && 'docker-registry is not installed', timeout: 60_000 }, async (t) => {
  const trusted = signedInstallerImage('v2');
  const stranger = signedInstallerImage('v3');
  const push = async (tag: string, image: SignedInstallerImage): Promise<string> => {
    const src = join(dir, `push-${tag}`);
    mkdirSync(src);
    for (const [f, b] of Object.entries(image.files)) writeFileSync(join(src, f), b);
    writeInstallerLayout({ dir: join(src, 'layout'), files: Object.keys(image.files).map((f) => [f, join(src, f)] as const), version: tag, revision: 'test' });
    const pushed = await pushImageLayout(join(src, 'layout'), `${registry!.host}/talos/installer:${tag}`);
    const manifest = JSON.parse(readFileSync(join(src, 'layout/blobs/sha256', pushed.manifestDigest.slice(7)), 'utf8')) as ImageManifestDoc;
    return manifest.layers[0]!.digest;
  };
  await push('v2', trusted);
  await push('v3', stranger);
  // v4 is signed by the trusted key, but its layer rots in the registry's storage after the push.
  const rotten = await push('v4', signedInstallerImage('v4'));
  const blob = registry!.blobPath(rotten);
  const bytes = readFileSync(blob);
  bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0xff;
  writeFileSync(blob, bytes);
  const root = bootRoot('oci');
  const { node: n, writes } = await node(t, root, trusted.trustedKeyPem);
  const supervisor = n.supervisor;
  const unchanged = snapshot(root);
  const cases: Array<[string, Code, RegExp]> = [
    [`${registry!.host}/talos/installer:v9`, Code.NotFound, /manifest v9: HTTP 404 MANIFEST_UNKNOWN: manifest unknown; repository talos\/installer has tags v2, v3, v4$/],
    [`${registry!.host}/talos/nothing:v2`, Code.NotFound, /repository talos\/nothing does not exist/],
    [`${DOWN}/talos/installer:v2`, Code.Unavailable, /registry unreachable: .*ECONNREFUSED/],
    [`${registry!.host}/talos/installer:v3`, Code.PermissionDenied, /not signed by the key this node trusts/],
    [`${registry!.host}/talos/installer:v4`, Code.DataLoss, new RegExp(`blob ${rotten} arrived as sha256:[0-9a-f]{64} .*corrupt in the registry or in transit`)],
  ];
  for (const [ref, code, re] of cases) {
    await assert.rejects(n.upgrade({ url: ref }), (e: unknown) => e instanceof TalosError && e.code === code && e.message.includes(ref) && re.test(e.message), ref);
    assert.equal(snapshot(root), unchanged, `${ref}: BOOT unchanged`);
  }
  assert.equal(writes(), 0);
  assert.equal(n.supervisor, supervisor, 'no reboot');
  assert.deepEqual((await sequences(n.events)).filter((l) => !l.startsWith('initialize') && !l.startsWith('boot')), []);
  // The same node upgrades from the good image right after.
  await n.upgrade({ url: `${registry!.host}/talos/installer:v2` });
  await until('slot B written', () => writes() === 1);
  assert.equal(readFileSync(join(root, 'B/rootfs.cpio'), 'utf8'), 'rootfs.cpio of v2');
});
