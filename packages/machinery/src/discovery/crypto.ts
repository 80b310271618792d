import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { Code, TalosError } from '@talos-ts/cosi';

const nonceBytes = 12;
const tagBytes = 16;
const block = 16;

/** An AES key derived from the cluster secret exactly as upstream does: the secret's raw bytes. */
export interface ClusterKey {
  readonly key: Buffer;
  readonly bits: 128 | 192 | 256;
}

/** Decodes the cluster secret (machine config `cluster.secret`, base64) or takes raw key bytes. */
export function clusterKey(secret: string | Uint8Array): ClusterKey {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'base64') : Buffer.from(secret);
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new TalosError(Code.InvalidArgument, `cluster secret decodes to ${key.length} bytes; want 16, 24 or 32`);
  }
  return { key, bits: (key.length * 8) as 128 | 192 | 256 };
}

/** AES-GCM with a random 96-bit nonce: nonce || ciphertext || tag, the layout upstream's client sends. */
export function sealData(k: ClusterKey, plaintext: Uint8Array): Uint8Array {
  const nonce = randomBytes(nonceBytes);
  const c = createCipheriv(`aes-${k.bits}-gcm`, k.key, nonce);
  const body = Buffer.concat([c.update(plaintext), c.final()]);
  return Buffer.concat([nonce, body, c.getAuthTag()]);
}

/** Opens {@link sealData} output; throws InvalidArgument when it is short or does not authenticate. */
export function openData(k: ClusterKey, sealed: Uint8Array): Uint8Array {
  if (sealed.length < nonceBytes + tagBytes) throw new TalosError(Code.InvalidArgument, 'sealed affiliate data is too short');
  const buf = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
  const d = createDecipheriv(`aes-${k.bits}-gcm`, k.key, buf.subarray(0, nonceBytes));
  d.setAuthTag(buf.subarray(buf.length - tagBytes));
  try {
    return Buffer.concat([d.update(buf.subarray(nonceBytes, buf.length - tagBytes)), d.final()]);
  } catch (err) {
    throw new TalosError(Code.InvalidArgument, 'affiliate data does not decrypt with the cluster key', { cause: err });
  }
}

/**
 * AES-ECB over [length byte || message || zero padding]. Deterministic on purpose: the same
 * endpoint reported by different members seals to the same bytes, so the server can deduplicate
 * it without learning it.
 */
export function sealEndpoint(k: ClusterKey, plaintext: Uint8Array): Uint8Array {
  if (plaintext.length > 255) throw new TalosError(Code.InvalidArgument, 'endpoint message longer than 255 bytes');
  const padded = Buffer.alloc(Math.ceil((plaintext.length + 1) / block) * block);
  padded[0] = plaintext.length;
  padded.set(plaintext, 1);
  const c = createCipheriv(`aes-${k.bits}-ecb`, k.key, null).setAutoPadding(false);
  return Buffer.concat([c.update(padded), c.final()]);
}

/** Opens {@link sealEndpoint} output. */
export function openEndpoint(k: ClusterKey, sealed: Uint8Array): Uint8Array {
  if (sealed.length === 0 || sealed.length % block !== 0) throw new TalosError(Code.InvalidArgument, 'sealed endpoint is not a whole number of AES blocks');
  const d = createDecipheriv(`aes-${k.bits}-ecb`, k.key, null).setAutoPadding(false);
  const plain = Buffer.concat([d.update(sealed), d.final()]);
  const n = plain[0] ?? 0;
  if (n > plain.length - 1) throw new TalosError(Code.InvalidArgument, 'sealed endpoint length byte is out of range');
  return plain.subarray(1, 1 + n);
}
