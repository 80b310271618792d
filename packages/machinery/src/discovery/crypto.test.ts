import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Code, hasCode } from '@talos-ts/cosi';
import { clusterKey, openData, openEndpoint, sealData, sealEndpoint } from './crypto.ts';

const secret = randomBytes(32).toString('base64');

test('clusterKey: the base64 cluster secret is the AES-256 key; other lengths are rejected', () => {
  assert.equal(clusterKey(secret).bits, 256);
  assert.deepEqual(clusterKey(secret).key, Buffer.from(secret, 'base64'));
  assert.throws(() => clusterKey(randomBytes(20).toString('base64')), (e) => hasCode(e, Code.InvalidArgument));
});

test('sealData: nonce || ciphertext || tag, opened by an independent AES-GCM (python cryptography)', () => {
  const k = clusterKey(secret);
  const plain = Buffer.from('hostname: node-a');
  const sealed = Buffer.from(sealData(k, plain));
  assert.equal(sealed.length, 12 + plain.length + 16);
  assert.ok(!sealed.includes(plain));
  const py = `import sys,base64
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
k,s=[base64.b64decode(x) for x in sys.argv[1:3]]
sys.stdout.write(AESGCM(k).decrypt(s[:12],s[12:],None).decode())`;
  const out = execFileSync('python3', ['-c', py, k.key.toString('base64'), sealed.toString('base64')], { encoding: 'utf8' });
  assert.equal(out, 'hostname: node-a');
  assert.deepEqual(Buffer.from(openData(k, sealed)), plain);
});

test('openData: a flipped bit or the wrong key fails with InvalidArgument', () => {
  const k = clusterKey(secret);
  const sealed = Buffer.from(sealData(k, Buffer.from('data')));
  const bad = Buffer.from(sealed);
  bad[14] = (bad[14] ?? 0) ^ 1;
  assert.throws(() => openData(k, bad), (e) => hasCode(e, Code.InvalidArgument));
  assert.throws(() => openData(clusterKey(randomBytes(32)), sealed), (e) => hasCode(e, Code.InvalidArgument));
  assert.throws(() => openData(k, sealed.subarray(0, 20)), (e) => hasCode(e, Code.InvalidArgument));
});

test('sealEndpoint: deterministic AES-ECB of [len | message | zero pad], as openssl decrypts it', () => {
  const k = clusterKey(secret);
  const msg = Buffer.from([0x0a, 0x04, 10, 0, 0, 1, 0x10, 0xca, 0x65]);
  const a = Buffer.from(sealEndpoint(k, msg));
  assert.equal(a.length, 16);
  assert.deepEqual(a, Buffer.from(sealEndpoint(k, msg)), 'same endpoint seals to the same bytes');
  const plain = execFileSync('openssl', ['enc', '-d', '-aes-256-ecb', '-nopad', '-K', k.key.toString('hex')], { input: a });
  assert.equal(plain[0], msg.length);
  assert.deepEqual(plain.subarray(1, 1 + msg.length), msg);
  assert.ok(plain.subarray(1 + msg.length).every((b) => b === 0));
  assert.deepEqual(Buffer.from(openEndpoint(k, a)), msg);
  assert.equal(sealEndpoint(k, randomBytes(15)).length, 16);
  assert.equal(sealEndpoint(k, randomBytes(16)).length, 32);
  assert.throws(() => openEndpoint(k, randomBytes(15)), (e) => hasCode(e, Code.InvalidArgument));
});
