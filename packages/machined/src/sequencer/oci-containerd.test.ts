import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, createLogger, TalosError, type LogRecord } from '@talos-ts/cosi';
import { create } from '@bufbuild/protobuf';
import { commonPb, InstallerFiles, machinePb, pushImageLayout, writeInstallerLayout, type CallContext, type ImageManifestDoc } from '@talos-ts/machinery';
import { hasContainerd, hasDockerRegistry, signedInstallerImage, startContainerd, startRegistry, type ContainerdServer, type RegistryServer } from '@talos-ts/testkit';
import { ContainerdContent } from '../containerd/content.ts';
import { createImagesService } from '../server/images-service.ts';
import { fetchInstallAssets } from './install.ts';
import { pullInstallAssets } from './oci-install.ts';

// The installer pulled through a real containerd (its own root and socket) from the real
// docker-registry on loopback: what containerd holds afterwards, checked through our client and
// through `ctr`, containerd's own.

const ADDRESS = '127.0.77.1';
const skip = !hasDockerRegistry() ? 'docker-registry is not installed (scripts/ensure-deps.sh test)' : !hasContainerd() ? 'containerd is not installed (scripts/ensure-deps.sh test)' : false;
let registry: RegistryServer;
let ctrd: ContainerdServer;
let store: ContainerdContent;
let dir: string;

const isCode = (code: Code, re?: RegExp) => (e: unknown): boolean => e instanceof TalosError && e.code === code && (!re || re.test(e.message));
/** Runs containerd's garbage collection now (deleting a lease with sync waits for one). */
const collectGarbage = async (): Promise<void> => store.deleteLease(await store.createLease(), { sync: true });
const ctr = (...args: string[]): string => execFileSync('ctr', ['-a', ctrd.socket, '-n', 'system', ...args], { encoding: 'utf8' });

/** Pushes `files` as an installer image `repo:tag`; returns its manifest digest and manifest. */
async function push(repo: string, tag: string, files: Record<string, Buffer>): Promise<{ digest: string; manifest: ImageManifestDoc; ref: string }> {
  const src = join(dir, `${repo.replace(/\//g, '_')}-${tag}`);
  mkdirSync(src, { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(src, name), bytes);
  writeInstallerLayout({ dir: join(src, 'layout'), files: Object.keys(files).map((n) => [n, join(src, n)] as const), version: tag, revision: 'test' });
  const ref = `${registry.host}/${repo}:${tag}`;
  const pushed = await pushImageLayout(join(src, 'layout'), ref);
  const manifest = JSON.parse(readFileSync(join(src, 'layout/blobs/sha256', pushed.manifestDigest.slice(7)), 'utf8')) as ImageManifestDoc;
  return { digest: pushed.manifestDigest, manifest, ref };
}

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'ctrd-oci-'));
  registry = await startRegistry({ address: ADDRESS, port: 47710 });
  ctrd = await startContainerd();
  store = new ContainerdContent({ socket: ctrd.socket, namespace: 'system' });
});

after(async () => {
  store?.close();
  await ctrd?.stop();
  await registry?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('an installer pulled through containerd: its blobs and an image record named by the reference stay in namespace system, the files equal the pushed ones, no lease is left', { skip }, async () => {
  const image = signedInstallerImage('v1.0.0');
  const { digest, manifest, ref } = await push('talos/installer', 'v1.0.0', image.files);
  const out = join(dir, 'p1', 'assets');
  const t0 = Date.now();
  const a = await fetchInstallAssets(ref, out, { trustedKeyPem: image.trustedKeyPem, containerdSocket: ctrd.socket });
  process.stderr.write(`# pull through containerd: ${Date.now() - t0} ms\n`);
  for (const [role, name] of Object.entries(InstallerFiles)) {
    assert.ok(readFileSync(join(out, name)).equals(image.files[name]!), name);
    if (role !== 'manifest') assert.equal(a[role as keyof typeof a], join(out, name));
  }
  const record = await store.getImage(ref);
  assert.deepEqual(record?.target, { mediaType: manifest.mediaType, digest, size: (await store.info(digest))?.size });
  const held = new Map((await store.listBlobs()).map((b) => [b.digest, b]));
  for (const d of [manifest.config, ...manifest.layers]) assert.equal(held.get(d.digest)?.size, d.size, d.digest);
  const labels = held.get(digest)?.labels ?? {};
  assert.equal(labels['containerd.io/gc.ref.content.config'], manifest.config.digest);
  manifest.layers.forEach((l, i) => assert.equal(labels[`containerd.io/gc.ref.content.l.${i}`], l.digest));
  assert.deepEqual(await store.listLeases(), []);
  // The manifest's labels keep its config and layers through a garbage collection.
  await collectGarbage();
  assert.match(ctr('images', 'ls'), new RegExp(`${ref.replace(/\./g, '\\.')}\\s+${(manifest.mediaType ?? '').replace(/[.+]/g, '\\$&')}\\s+${digest}`));
  // containerd's own check of the image: every blob the manifest names is present.
  assert.match(ctr('images', 'check'), new RegExp(`${ref.replace(/\./g, '\\.')}\\s+\\S+\\s+${digest}\\s+complete`));
  assert.deepEqual(readdirSync(join(dir, 'p1')), ['assets']);
  // And MachineService/ImageList (talosctl image list --namespace system) shows it.
  const method = machinePb.MachineService.method.imageList;
  const ctx: CallContext = { signal: new AbortController().signal, metadata: new Map() as unknown as CallContext['metadata'], peer: 'unix', peerCertificate: undefined, method };
  const listed: machinePb.ImageListResponse[] = [];
  for await (const m of createImagesService(() => ctrd.socket).imageList!(create(machinePb.ImageListRequestSchema, { namespace: commonPb.ContainerdNamespace.NS_SYSTEM }), ctx) as AsyncIterable<machinePb.ImageListResponse>) listed.push(m);
  const mine = listed.find((m) => m.name === ref);
  assert.equal(mine?.digest, digest);
  assert.equal(mine?.size, BigInt(record!.target.size + manifest.config.size + manifest.layers.reduce((n, l) => n + l.size, 0)));
});

test('a re-pushed tag pulled again re-points the same image record at the new manifest', { skip }, async () => {
  const first = await push('talos/again', 'v1', signedInstallerImage('first').files);
  await pullInstallAssets(first.ref, join(dir, 'again1', 'a'), { containerdSocket: ctrd.socket });
  const second = await push('talos/again', 'v1', signedInstallerImage('second').files);
  await pullInstallAssets(second.ref, join(dir, 'again2', 'a'), { containerdSocket: ctrd.socket });
  assert.equal((await store.getImage(first.ref))?.target.digest, second.digest);
  assert.deepEqual(await store.listLeases(), []);
});

test('the files installed are those read back from containerd: a layer rotten in its content store is DataLoss', { skip }, async () => {
  const image = signedInstallerImage('rot');
  const { manifest, ref } = await push('talos/rot', 'v1', image.files);
  // The first pull's record keeps the blobs from garbage collection; the second finds them there.
  await pullInstallAssets(ref, join(dir, 'rot1', 'a'), { containerdSocket: ctrd.socket });
  // Flip a byte of a file inside the stored layer; the registry's copy stays good.
  const blob = join(ctrd.root, 'io.containerd.content.v1.content', 'blobs', 'sha256', manifest.layers[0]!.digest.slice(7));
  const bytes = readFileSync(blob);
  const at = bytes.indexOf(`${InstallerFiles.kernel} of rot`);
  assert.ok(at > 0);
  bytes[at] = bytes[at]! ^ 0x20;
  writeFileSync(blob, bytes);
  await assert.rejects(pullInstallAssets(ref, join(dir, 'rot2', 'a'), { containerdSocket: ctrd.socket }), isCode(Code.DataLoss, /vmlinuz: sha256 [0-9a-f]{64} does not match the manifest/));
  assert.deepEqual(await store.listLeases(), []);
  // The direct pull, which reads the registry's bytes, still gets good files.
  await pullInstallAssets(ref, join(dir, 'rot3', 'a'));
});

test('a layer corrupted in the registry is DataLoss before containerd sees it; a file the manifest does not describe is DataLoss; neither leaves a record or a lease', { skip }, async () => {
  const good = signedInstallerImage('corrupt');
  const { manifest, ref } = await push('talos/corrupt', 'v1', good.files);
  const blob = registry.blobPath(manifest.layers[0]!.digest);
  const bytes = readFileSync(blob);
  bytes[bytes.length - 2000] = bytes[bytes.length - 2000]! ^ 0x55;
  writeFileSync(blob, bytes);
  await assert.rejects(pullInstallAssets(ref, join(dir, 'c1', 'a'), { containerdSocket: ctrd.socket }), isCode(Code.DataLoss, /corrupt in the registry/));
  assert.equal(await store.getImage(ref), undefined);
  const tampered = { ...good.files, [InstallerFiles.rootfsCpio]: Buffer.from('changed after signing') };
  const t = await push('talos/tampered', 'v1', tampered);
  await assert.rejects(pullInstallAssets(t.ref, join(dir, 'c2', 'a'), { containerdSocket: ctrd.socket }), isCode(Code.DataLoss, /rootfs\.cpio: sha256 [0-9a-f]{64} does not match the manifest/));
  assert.equal(await store.getImage(t.ref), undefined);
  assert.deepEqual(await store.listLeases(), []);
  // Only the lease held the tampered image's blobs: a garbage collection takes them all.
  await collectGarbage();
  const held = new Set((await store.listBlobs()).map((b) => b.digest));
  for (const d of [t.digest, t.manifest.config.digest, ...t.manifest.layers.map((l) => l.digest)]) assert.ok(!held.has(d), d);
  assert.deepEqual(readdirSync(join(dir, 'c1')).concat(readdirSync(join(dir, 'c2'))), []);
});

test('an installer signed by a key this node does not trust is PermissionDenied and leaves no image record, no lease and nothing in the assets directory', { skip }, async () => {
  const image = signedInstallerImage('stranger');
  const other = signedInstallerImage('trusted');
  const { ref } = await push('talos/stranger', 'v1', image.files);
  const out = join(dir, 's1', 'assets');
  await assert.rejects(
    fetchInstallAssets(ref, out, { trustedKeyPem: other.trustedKeyPem, containerdSocket: ctrd.socket }),
    isCode(Code.PermissionDenied, /not signed by the key this node trusts/),
  );
  assert.equal(await store.getImage(ref), undefined);
  assert.deepEqual(await store.listLeases(), []);
  assert.deepEqual(readdirSync(join(dir, 's1')), []);
});

test('no containerd on the socket: the installer comes from the direct pull and an info line says so', { skip }, async () => {
  const image = signedInstallerImage('direct');
  const { ref } = await push('talos/direct', 'v1', image.files);
  const records: LogRecord[] = [];
  const logger = createLogger({ level: 'debug', sink: (r) => records.push(r) });
  const out = join(dir, 'direct', 'a');
  await pullInstallAssets(ref, out, { containerdSocket: join(dir, 'no-such.sock'), logger });
  assert.ok(readFileSync(join(out, InstallerFiles.kernel)).equals(image.files[InstallerFiles.kernel]!));
  const line = records.find((r) => /containerd is not running/.test(r.msg));
  assert.equal(line?.level, 'info');
  assert.equal(line?.['socket'], join(dir, 'no-such.sock'));
  assert.equal(await store.getImage(ref), undefined);
  // A socket file left behind by a containerd that is gone: the same fallback, not an error.
  const stale = join(dir, 'stale.sock');
  const server = createServer();
  await new Promise<void>((r) => server.listen(join(dir, 'live.sock'), r));
  linkSync(join(dir, 'live.sock'), stale);
  await new Promise((r) => server.close(r));
  records.length = 0;
  await pullInstallAssets(ref, join(dir, 'stale', 'a'), { containerdSocket: stale, logger });
  assert.equal(records.find((r) => /containerd is not running/.test(r.msg))?.['socket'], stale);
});
