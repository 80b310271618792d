import { createPrivateKey, createPublicKey, randomBytes } from 'node:crypto';
import { Code, TalosError } from '@talos-ts/cosi';

/** Bytes of a WireGuard (Curve25519) key. */
export const WG_KEY_BYTES = 32;

// DER prefixes around a raw X25519 key (RFC 8410): PKCS#8 for the private, SPKI for the public one.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');
const SPKI_PREFIX_BYTES = 12;

/** A WireGuard key pair as `wg` prints keys: standard base64 of 32 bytes. */
export interface WireGuardKeyPair {
  readonly privateKey: string;
  readonly publicKey: string;
}

/**
 * The raw 32 bytes of a base64 WireGuard key, or `{ error }` for anything else (a peer's key arrives
 * from discovery, so this is untrusted input).
 */
export function parseWireGuardKey(text: string): { value: Buffer } | { error: string } {
  if (!/^[A-Za-z0-9+/]{43}=$/.test(text)) return { error: `key ${JSON.stringify(text.slice(0, 60))} is not 44 characters of base64` };
  const value = Buffer.from(text, 'base64');
  if (value.length !== WG_KEY_BYTES) return { error: `key decodes to ${value.length} bytes, want ${WG_KEY_BYTES}` };
  return { value };
}

/** The public key of a base64 private key (X25519 scalar multiplication of the base point). */
export function wireGuardPublicKey(privateKey: string): string {
  const parsed = parseWireGuardKey(privateKey);
  if ('error' in parsed) throw new TalosError(Code.InvalidArgument, `private key: ${parsed.error}`);
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, parsed.value]), format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return spki.subarray(SPKI_PREFIX_BYTES).toString('base64');
}

/**
 * A new key pair. The scalar is clamped as `wg genkey` does, so the stored private key is the
 * same bytes any WireGuard implementation would use.
 */
export function generateWireGuardKeyPair(random: (n: number) => Buffer = randomBytes): WireGuardKeyPair {
  const raw = random(WG_KEY_BYTES);
  raw[0] = raw[0]! & 248;
  raw[31] = (raw[31]! & 127) | 64;
  const privateKey = raw.toString('base64');
  return { privateKey, publicKey: wireGuardPublicKey(privateKey) };
}
