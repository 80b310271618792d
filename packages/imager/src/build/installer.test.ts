import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Annotation, INSTALLER_ASSET_DIR, MediaType, parseTarHeader } from '@talos-ts/machinery';
import { hasDockerRegistry, startRegistry, type RegistryServer } from '@talos-ts/testkit';
import { INSTALLER_IMAGE_FILES, INSTALLER_LAYOUT, writeInstallerImage } from './installer.ts';

const skip = hasDockerRegistry() ? false : 'docker-registry is not installed (scripts/ensure-deps.sh test)';
let dir: string;
let registry: RegistryServer | undefined;

/** Runs the real talos-imager command (bin/talos-imager.js) and captures what it printed. */
function imager(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = new URL('../../bin/talos-imager.js', import.meta.url).pathname;
  return new Promise((resolve) => {
    execFile(process.execPath, [bin, ...args], { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }));
  });
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'imager-oci-'));
  for (const n of INSTALLER_IMAGE_FILES) writeFileSync(join(dir, n), n === 'manifest.json' ? JSON.stringify({ schema: 1, version: '0.1.0', gitRevision: 'deadbeef' }) : `${n} bytes\n`.repeat(100));
  if (!skip) registry = await startRegistry({ address: '127.0.36.2', port: 5103 });
});

after(async () => {
  await registry?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the installer image is an OCI layout tagged with the version, one layer with every installer file under usr/install/amd64', () => {
  const top = writeInstallerImage(dir);
  const layout = join(dir, INSTALLER_LAYOUT);
  assert.deepEqual(JSON.parse(readFileSync(join(layout, 'oci-layout'), 'utf8')), { imageLayoutVersion: '1.0.0' });
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as { mediaType: string; manifests: Array<{ digest: string; annotations: Record<string, string> }> };
  assert.equal(index.mediaType, MediaType.ociIndex);
  assert.equal(index.manifests[0]!.digest, top.digest);
  assert.equal(index.manifests[0]!.annotations[Annotation.refName], 'v0.1.0');
  const blob = (d: string): Buffer => readFileSync(join(layout, 'blobs/sha256', d.slice(7)));
  const manifest = JSON.parse(blob(top.digest).toString()) as { mediaType: string; annotations: Record<string, string>; layers: Array<{ digest: string; mediaType: string }> };
  assert.equal(manifest.mediaType, MediaType.ociManifest);
  assert.deepEqual([manifest.annotations[Annotation.version], manifest.annotations[Annotation.revision]], ['v0.1.0', 'deadbeef']);
  const layer = blob(manifest.layers[0]!.digest);
  const names: string[] = [];
  for (let off = 0; off < layer.length; ) {
    const e = parseTarHeader(layer.subarray(off, off + 512));
    if (!e) break;
    if (e.type === 'file') names.push(e.name);
    off += 512 + Math.ceil(e.size / 512) * 512;
  }
  assert.deepEqual(names, INSTALLER_IMAGE_FILES.map((n) => `${INSTALLER_ASSET_DIR}/${n}`));
  assert.ok(['manifest.sig', 'signing-key.pub', 'rootfs.cpio', 'vmlinuz'].every((n) => INSTALLER_IMAGE_FILES.includes(n)));
});

test('talos-imager push uploads the installer; the registry lists the tag and serves the same manifest digest', { skip }, async () => {
  writeInstallerImage(dir);
  const r = await imager(['push', dir, `${registry!.host}/talos/installer:v0.1.0`]);
  assert.equal(r.code, 0, r.stderr);
  const digest = /@(sha256:[0-9a-f]{64}) \(2 blobs sent, 0 already there\)/.exec(r.stdout)?.[1];
  assert.ok(digest, r.stdout);
  const tags = (await (await fetch(`http://${registry!.host}/v2/talos/installer/tags/list`)).json()) as { tags: string[] };
  assert.deepEqual(tags.tags, ['v0.1.0']);
  const head = await fetch(`http://${registry!.host}/v2/talos/installer/manifests/v0.1.0`, { method: 'HEAD', headers: { accept: MediaType.ociManifest } });
  assert.equal(head.headers.get('docker-content-digest'), digest);
});

test('talos-imager push to a registry that is down or of a directory without an installer fails with the reason', { skip }, async () => {
  const down = await imager(['push', dir, '127.0.36.2:5109/talos/installer:v1']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /push failed: .*127\.0\.36\.2:5109/);
  const empty = mkdtempSync(join(tmpdir(), 'imager-oci-empty-'));
  try {
    const r = await imager(['push', empty, `${registry!.host}/talos/installer:v1`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /neither an OCI image layout nor an image directory/);
    assert.equal(existsSync(join(empty, INSTALLER_LAYOUT)), false);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
  assert.equal((await imager(['push', dir])).code, 2);
});
