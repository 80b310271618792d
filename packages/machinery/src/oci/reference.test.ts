import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, TalosError } from '@talos-ts/cosi';
import { formatImageReference, looksLikeImageReference, manifestReference, parseImageReference } from './reference.ts';

const D = `sha256:${'ab'.repeat(32)}`;

test('a reference names its registry when the first part has a dot, a port or is localhost', () => {
  assert.deepEqual(parseImageReference('ghcr.io/siderolabs/installer:v1.9.0'), { registry: 'ghcr.io', repository: 'siderolabs/installer', tag: 'v1.9.0' });
  assert.deepEqual(parseImageReference('127.0.36.1:5000/talos/installer:v0.1'), { registry: '127.0.36.1:5000', repository: 'talos/installer', tag: 'v0.1' });
  assert.deepEqual(parseImageReference('localhost/x'), { registry: 'localhost', repository: 'x', tag: 'latest' });
  assert.deepEqual(parseImageReference('[::1]:5000/x:1'), { registry: '[::1]:5000', repository: 'x', tag: '1' });
});

test('a reference without a registry is on docker.io, one-part names under library/', () => {
  assert.deepEqual(parseImageReference('alpine'), { registry: 'docker.io', repository: 'library/alpine', tag: 'latest' });
  assert.deepEqual(parseImageReference('siderolabs/installer:v1'), { registry: 'docker.io', repository: 'siderolabs/installer', tag: 'v1' });
});

test('a digest is kept beside the tag and wins when the manifest is asked for', () => {
  const r = parseImageReference(`ghcr.io/a/b:v1@${D}`);
  assert.equal(r.tag, 'v1');
  assert.equal(r.digest, D);
  assert.equal(manifestReference(r), D);
  assert.equal(manifestReference(parseImageReference('ghcr.io/a/b')), 'latest');
  assert.equal(formatImageReference(r), `ghcr.io/a/b:v1@${D}`);
  assert.equal(parseImageReference(`ghcr.io/a/b@${D}`).tag, undefined);
});

test('bad references are InvalidArgument naming the part at fault', () => {
  for (const [ref, part] of [
    ['', 'empty'],
    ['ghcr.io/A/b:v1', 'repository'],
    ['ghcr.io/a/b:v 1', 'tag'],
    ['ghcr.io/a/b@sha256:12', 'digest'],
    ['ghcr.io/a/b@md5:' + 'a'.repeat(32), 'digest'],
    ['bad_host.io:x/a', 'registry'],
  ] as const) {
    assert.throws(() => parseImageReference(ref), (e: unknown) => e instanceof TalosError && e.code === Code.InvalidArgument && e.message.includes(part), ref);
  }
});

test('URLs are not image references; anything without a scheme is', () => {
  assert.equal(looksLikeImageReference('http://10.0.0.1/img/'), false);
  assert.equal(looksLikeImageReference('HTTPS://x'), false);
  assert.equal(looksLikeImageReference('10.5.0.1:5000/talos/installer:v1'), true);
});
