import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import { timestampMs } from '@bufbuild/protobuf/wkt';
import { Code, TalosError } from '@talos-ts/cosi';
import { commonPb, machinePb, type CallContext } from '@talos-ts/machinery';
import { hasContainerd, startContainerd, type ContainerdServer } from '@talos-ts/testkit';
import { ContainerdContent, type ContentDescriptor } from '../containerd/content.ts';
import { createImagesService } from './images-service.ts';

// ImageList against a real containerd of the test's own, holding a small image written through
// the content store as a pull leaves it.

const skip = hasContainerd() ? false : 'containerd is not installed (scripts/ensure-deps.sh test)';
let ctrd: ContainerdServer;
const method = machinePb.MachineService.method.imageList;
const ctx = (): CallContext => ({ signal: new AbortController().signal, metadata: new Map() as unknown as CallContext['metadata'], peer: 'unix', peerCertificate: undefined, method });
const isCode = (code: Code, re?: RegExp) => (e: unknown): boolean => e instanceof TalosError && e.code === code && (!re || re.test(e.message));

async function put(store: ContainerdContent, bytes: Buffer, mediaType: string, lease: string): Promise<ContentDescriptor> {
  const desc = { mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length };
  await store.writeBlob(desc, [bytes], { lease });
  return desc;
}

async function list(socket: string | undefined, namespace: commonPb.ContainerdNamespace): Promise<machinePb.ImageListResponse[]> {
  const out: machinePb.ImageListResponse[] = [];
  const it = createImagesService(() => socket).imageList!(create(machinePb.ImageListRequestSchema, { namespace }), ctx()) as AsyncIterable<machinePb.ImageListResponse>;
  for await (const m of it) out.push(m);
  return out;
}

before(async () => {
  if (skip) return;
  ctrd = await startContainerd();
});

after(async () => {
  await ctrd?.stop();
});

test('ImageList of the system namespace names each image by its reference, with its manifest digest, the size of its whole tree and its creation time', { skip }, async () => {
  using store = new ContainerdContent({ socket: ctrd.socket, namespace: 'system' });
  // Held by a lease until the image record names them (a garbage collection may run in between).
  const lease = await store.createLease();
  const config = await put(store, Buffer.from('{"architecture":"amd64","os":"linux"}'), 'application/vnd.oci.image.config.v1+json', lease);
  const layer = await put(store, Buffer.alloc(5000, 7), 'application/vnd.oci.image.layer.v1.tar', lease);
  const manifest = await put(store, Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] })), 'application/vnd.oci.image.manifest.v1+json', lease);
  const before = Date.now();
  await store.putImage('127.0.77.2:47720/talos/installer:v1.0.0', manifest);
  await store.deleteLease(lease, { sync: true });
  const [one, ...rest] = await list(ctrd.socket, commonPb.ContainerdNamespace.NS_SYSTEM);
  assert.deepEqual(rest, []);
  assert.equal(one?.name, '127.0.77.2:47720/talos/installer:v1.0.0');
  assert.equal(one?.digest, manifest.digest);
  assert.equal(one?.size, BigInt(manifest.size + config.size + layer.size));
  const created = timestampMs(one!.createdAt!);
  assert.ok(created >= before - 1000 && created <= Date.now() + 1000, String(created));
  // The CRI's namespace is another one: it holds nothing here.
  assert.deepEqual(await list(ctrd.socket, commonPb.ContainerdNamespace.NS_CRI), []);
});

test('ImageList: an image whose layers are gone is listed with size 0', { skip }, async () => {
  using store = new ContainerdContent({ socket: ctrd.socket, namespace: 'k8s.io' });
  const missing = { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: `sha256:${'1'.repeat(64)}`, size: 400 };
  await store.putImage('registry.k8s.io/pause:3.9', missing);
  const [one] = await list(ctrd.socket, commonPb.ContainerdNamespace.NS_CRI);
  assert.equal(one?.name, 'registry.k8s.io/pause:3.9');
  assert.equal(one?.size, 0n);
});

test('ImageList: an unknown namespace is InvalidArgument; a node without containerd is Unavailable', async () => {
  await assert.rejects(list('/nonexistent.sock', commonPb.ContainerdNamespace.NS_UNKNOWN), isCode(Code.InvalidArgument, /invalid namespace NS_UNKNOWN/));
  await assert.rejects(list(undefined, commonPb.ContainerdNamespace.NS_SYSTEM), isCode(Code.Unavailable, /containerd is not running/));
});
