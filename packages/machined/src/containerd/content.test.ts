import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Code, TalosError } from '@talos-ts/cosi';
import { hasContainerd, startContainerd, type ContainerdServer } from '@talos-ts/testkit';
import { ContainerdContent, type ContentDescriptor } from './content.ts';

// Against a real containerd of the test's own; `ctr` (containerd's own client) checks what our
// client left in the store.

const skip = hasContainerd() ? false : 'containerd is not installed (scripts/ensure-deps.sh test)';
let ctrd: ContainerdServer;
let store: ContainerdContent;
/** Blobs no image names are garbage at containerd's next collection; this lease keeps the tests' blobs. */
let lease: string;

const descOf = (bytes: Buffer, mediaType = 'application/octet-stream'): ContentDescriptor => ({ mediaType, digest: `sha256:${createHash('sha256').update(bytes).digest('hex')}`, size: bytes.length });
async function* pieces(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}
const collect = async (it: AsyncIterable<Buffer>): Promise<Buffer> => {
  const parts: Buffer[] = [];
  for await (const p of it) parts.push(p);
  return Buffer.concat(parts);
};
const ctr = (...args: string[]): string => execFileSync('ctr', ['-a', ctrd.socket, '-n', 'system', ...args], { encoding: 'utf8' });
const isCode = (code: Code) => (e: unknown): boolean => e instanceof TalosError && e.code === code;

before(async () => {
  if (skip) return;
  ctrd = await startContainerd();
  store = new ContainerdContent({ socket: ctrd.socket, namespace: 'system' });
  lease = await store.createLease();
});

after(async () => {
  store?.close();
  await ctrd?.stop();
});

test('a blob written in pieces larger and smaller than a message reads back byte for byte, and ctr lists it with its labels', { skip }, async () => {
  const bytes = randomBytes(3 * 1024 * 1024 + 12345);
  const desc = descOf(bytes);
  assert.equal(await store.writeBlob(desc, pieces(bytes, 1536 * 1024), { lease, labels: { 'talos.dev/test': 'one' } }), 'written');
  assert.ok((await collect(store.readBlob(desc.digest))).equals(bytes));
  const info = await store.info(desc.digest);
  assert.equal(info?.size, bytes.length);
  assert.equal(info?.labels['talos.dev/test'], 'one');
  assert.match(ctr('content', 'ls'), new RegExp(`${desc.digest}\\s+3\\.\\d+MB.*talos.dev/test=one`));
});

test('writing a blob the store already holds sends no data, says so, and still sets its labels', { skip }, async () => {
  const bytes = randomBytes(2048);
  const desc = descOf(bytes);
  assert.equal(await store.writeBlob(desc, pieces(bytes, 512), { lease }), 'written');
  let pulled = 0;
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const p of pieces(bytes, 512)) {
      pulled++;
      yield p;
    }
  }
  assert.equal(await store.writeBlob(desc, counted(), { lease, labels: { 'talos.dev/again': 'yes' } }), 'exists');
  assert.equal(pulled, 0);
  assert.equal((await store.info(desc.digest))?.labels['talos.dev/again'], 'yes');
});

test('bytes that do not match the expected digest are refused at commit and nothing is stored', { skip }, async () => {
  const bytes = randomBytes(4096);
  const desc = descOf(bytes);
  const other = Buffer.from(bytes);
  other[100] = other[100]! ^ 1;
  await assert.rejects(store.writeBlob(desc, pieces(other, 1000), { lease }), isCode(Code.FailedPrecondition));
  assert.equal(await store.info(desc.digest), undefined);
  const short = bytes.subarray(0, 4000);
  await assert.rejects(store.writeBlob(desc, pieces(short, 1000), { lease }), isCode(Code.FailedPrecondition));
  assert.equal(await store.info(desc.digest), undefined);
  // The failed ingests do not stand in the way of the right bytes under the same ref.
  assert.equal(await store.writeBlob(desc, pieces(bytes, 1000), { lease }), 'written');
});

test('reading a blob the store does not hold is NotFound', { skip }, async () => {
  await assert.rejects(collect(store.readBlob(`sha256:${'0'.repeat(64)}`)), isCode(Code.NotFound));
});

test('an image record is created, then re-pointed by a second put; ctr lists it by name and target', { skip }, async () => {
  const a = descOf(Buffer.from('{"a":1}'), 'application/vnd.oci.image.manifest.v1+json');
  const b = descOf(Buffer.from('{"b":2}'), 'application/vnd.oci.image.manifest.v1+json');
  await store.writeBlob(a, pieces(Buffer.from('{"a":1}'), 100), { lease });
  await store.writeBlob(b, pieces(Buffer.from('{"b":2}'), 100), { lease });
  const name = '127.0.77.1:47701/talos/installer:v1';
  assert.equal((await store.putImage(name, a)).target.digest, a.digest);
  const again = await store.putImage(name, b, { labels: { 'talos.dev/k': 'v' } });
  assert.deepEqual(again.target, b);
  assert.deepEqual((await store.getImage(name))?.labels, { 'talos.dev/k': 'v' });
  assert.match(ctr('images', 'ls'), new RegExp(`${name.replace(/\./g, '\\.')}\\s+application/vnd\\.oci\\.image\\.manifest\\.v1\\+json\\s+${b.digest}`));
  assert.deepEqual((await store.listImages()).map((i) => i.name), [name]);
  await store.deleteImage(name);
  assert.equal(await store.getImage(name), undefined);
});

test('a lease is listed while it lives and gone once deleted', { skip }, async () => {
  const id = await store.createLease();
  assert.ok((await store.listLeases()).includes(id));
  assert.notEqual(id, lease);
  assert.match(ctr('leases', 'ls'), new RegExp(`${id}\\s.*containerd.io/gc.expire=`));
  await store.deleteLease(id);
  assert.deepEqual(await store.listLeases(), [lease]);
});

test('an abort stops a write half-way (nothing stored) and a read half-way', { skip }, async () => {
  const bytes = randomBytes(4 * 1024 * 1024);
  const desc = descOf(bytes);
  const ac = new AbortController();
  async function* slow(): AsyncGenerator<Buffer> {
    for await (const p of pieces(bytes, 256 * 1024)) {
      yield p;
      if (p.byteOffset >= 1024 * 1024) ac.abort();
    }
  }
  await assert.rejects(store.writeBlob(desc, slow(), { lease, signal: ac.signal }));
  assert.equal(await store.info(desc.digest), undefined);
  assert.equal(await store.writeBlob(desc, pieces(bytes, 1 << 20), { lease }), 'written');
  const rc = new AbortController();
  let got = 0;
  await assert.rejects(
    (async () => {
      for await (const p of store.readBlob(desc.digest, { signal: rc.signal })) {
        got += p.length;
        rc.abort();
      }
    })(),
  );
  assert.ok(got > 0 && got < bytes.length, String(got));
});
