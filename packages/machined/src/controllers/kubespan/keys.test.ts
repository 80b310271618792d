import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateWireGuardKeyPair, parseWireGuardKey, wireGuardPublicKey } from './keys.ts';

const hex64 = (h: string) => Buffer.from(h, 'hex').toString('base64');

test('wireGuardPublicKey: RFC 7748 section 6.1 test vectors (Alice and Bob)', () => {
  assert.equal(
    wireGuardPublicKey(hex64('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a')),
    hex64('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a'),
  );
  assert.equal(
    wireGuardPublicKey(hex64('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb')),
    hex64('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f'),
  );
});

test('generateWireGuardKeyPair: clamped scalar, 44-character base64 keys that match', () => {
  const pair = generateWireGuardKeyPair(() => Buffer.alloc(32, 0xff));
  const raw = Buffer.from(pair.privateKey, 'base64');
  assert.equal(raw[0], 0xf8);
  assert.equal(raw[31], 0x7f);
  assert.equal(pair.publicKey, wireGuardPublicKey(pair.privateKey));
  const a = generateWireGuardKeyPair();
  const b = generateWireGuardKeyPair();
  assert.notEqual(a.privateKey, b.privateKey);
  assert.match(a.publicKey, /^[A-Za-z0-9+/]{43}=$/);
});

test('parseWireGuardKey: only 32 bytes of standard base64 are a key', () => {
  assert.ok('value' in parseWireGuardKey(hex64('00'.repeat(32))));
  for (const bad of ['', 'short', `${hex64('00'.repeat(32)).slice(0, 43)}`, hex64('00'.repeat(33)), `${'-'.repeat(43)}=`]) {
    assert.ok('error' in parseWireGuardKey(bad), bad);
  }
});
