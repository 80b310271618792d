import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { Code, TalosError } from '@talos-ts/cosi';
import { verifyTrustedManifest } from './image-trust.ts';

const keyPair = (): { pub: string; sign: (b: Uint8Array) => string } => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    pub: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    sign: (b) => sign(null, createHash('sha256').update(b).digest(), privateKey).toString('base64'),
  };
};

const codeOf = (fn: () => unknown): Code | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof TalosError ? e.code : undefined;
  }
  return undefined;
};

const manifestBytes = Buffer.from(JSON.stringify({ version: '0.2.0', extraKernelArgs: ['quiet'], artifacts: {} }));

test('an installer signed by the trusted key is accepted and its manifest read', () => {
  const trusted = keyPair();
  const m = verifyTrustedManifest({ manifestBytes, signature: `${trusted.sign(manifestBytes)}\n`, trustedKeyPem: trusted.pub, source: 'img' });
  assert.equal(m.version, '0.2.0');
  assert.deepEqual(m.extraKernelArgs, ['quiet']);
});

test('an installer signed by another key is PermissionDenied, and a changed manifest too', () => {
  const trusted = keyPair();
  const other = keyPair();
  assert.equal(codeOf(() => verifyTrustedManifest({ manifestBytes, signature: other.sign(manifestBytes), trustedKeyPem: trusted.pub, source: 'img' })), Code.PermissionDenied);
  const sig = trusted.sign(manifestBytes);
  const changed = Buffer.from(manifestBytes.toString().replace('0.2.0', '0.2.1'));
  assert.equal(codeOf(() => verifyTrustedManifest({ manifestBytes: changed, signature: sig, trustedKeyPem: trusted.pub, source: 'img' })), Code.PermissionDenied);
  assert.equal(codeOf(() => verifyTrustedManifest({ manifestBytes, signature: 'not base64 at all', trustedKeyPem: trusted.pub, source: 'img' })), Code.PermissionDenied);
});

test('a node that trusts no key, or an unusable one, verifies nothing: FailedPrecondition', () => {
  const trusted = keyPair();
  const sig = trusted.sign(manifestBytes);
  assert.equal(codeOf(() => verifyTrustedManifest({ manifestBytes, signature: sig, trustedKeyPem: undefined, source: 'img' })), Code.FailedPrecondition);
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  assert.equal(codeOf(() => verifyTrustedManifest({ manifestBytes, signature: sig, trustedKeyPem: rsa, source: 'img' })), Code.FailedPrecondition);
});
