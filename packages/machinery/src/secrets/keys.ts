import { createPrivateKey, createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { decodePem, encodePem, PemLabel } from './pem.ts';
import { derNull, derOid, derSequence } from './der.ts';

/** Key algorithms Talos uses: Ed25519 (Talos API), ECDSA P-256 (etcd, Kubernetes), RSA. */
export type KeyType = 'ed25519' | 'ecdsa' | 'rsa';

/** A private key with its public half, in Node's key objects. */
export interface KeyPair {
  readonly type: KeyType;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

/** Options of {@link generateKey}. */
export interface GenerateKeyOptions {
  /** RSA modulus size; upstream uses 4096. */
  readonly rsaBits?: number;
}

/** Generates a key pair off the main thread (Node runs key generation on its thread pool). */
export function generateKey(type: KeyType, options: GenerateKeyOptions = {}): Promise<KeyPair> {
  return new Promise((resolve, reject) => {
    const done = (err: Error | null, publicKey: KeyObject, privateKey: KeyObject) =>
      err ? reject(err) : resolve({ type, privateKey, publicKey });
    if (type === 'ed25519') generateKeyPair('ed25519', undefined, done);
    else if (type === 'ecdsa') generateKeyPair('ec', { namedCurve: 'prime256v1' }, done);
    else generateKeyPair('rsa', { modulusLength: options.rsaBits ?? 4096 }, done);
  });
}

/** Which of our key types a Node key object is; throws for anything else (e.g. P-384). */
export function keyTypeOf(key: KeyObject): KeyType {
  const t = key.asymmetricKeyType;
  if (t === 'ed25519') return 'ed25519';
  if (t === 'rsa') return 'rsa';
  if (t === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve !== 'prime256v1' && curve !== 'P-256') throw new Error(`unsupported EC curve ${curve ?? '?'}, want P-256`);
    return 'ecdsa';
  }
  throw new Error(`unsupported key type ${t ?? '?'}`);
}

/** Wraps a private key object as a KeyPair. */
export function keyPairFromPrivate(privateKey: KeyObject): KeyPair {
  return { type: keyTypeOf(privateKey), privateKey, publicKey: createPublicKey(privateKey) };
}

/** PEM of a private key as upstream stores it: `ED25519 PRIVATE KEY` (PKCS#8), `EC PRIVATE KEY` (SEC1), `RSA PRIVATE KEY` (PKCS#1). */
export function privateKeyToPem(key: KeyPair | KeyObject): string {
  const k = 'privateKey' in key ? key.privateKey : key;
  switch (keyTypeOf(k)) {
    case 'ed25519':
      return encodePem(PemLabel.Ed25519PrivateKey, k.export({ type: 'pkcs8', format: 'der' }));
    case 'ecdsa':
      return encodePem(PemLabel.EcPrivateKey, k.export({ type: 'sec1', format: 'der' }));
    case 'rsa':
      return encodePem(PemLabel.RsaPrivateKey, k.export({ type: 'pkcs1', format: 'der' }));
  }
}

/** Standard PKCS#8 `PRIVATE KEY` PEM, e.g. for tools (openssl) that do not know upstream's labels. */
export function privateKeyToPkcs8Pem(key: KeyPair | KeyObject): string {
  const k = 'privateKey' in key ? key.privateKey : key;
  return encodePem(PemLabel.Pkcs8PrivateKey, k.export({ type: 'pkcs8', format: 'der' }));
}

/** Loads a private key PEM in upstream's labels or standard PKCS#8. */
export function privateKeyFromPem(pem: string | Uint8Array): KeyPair {
  const block = decodePem(pem, [
    PemLabel.Ed25519PrivateKey,
    PemLabel.EcPrivateKey,
    PemLabel.RsaPrivateKey,
    PemLabel.Pkcs8PrivateKey,
  ]);
  const type =
    block.label === PemLabel.EcPrivateKey ? 'sec1' : block.label === PemLabel.RsaPrivateKey ? 'pkcs1' : 'pkcs8';
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type });
  } catch (err) {
    throw new Error(`invalid ${block.label}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return keyPairFromPrivate(key);
}

/** Subject public key info (DER) of a key. */
export function spkiDer(key: KeyObject): Buffer {
  const pub = key.type === 'private' ? createPublicKey(key) : key;
  return pub.export({ type: 'spki', format: 'der' });
}

/** The signature algorithm we sign with for a key type (ECDSA with SHA-256, RSA with SHA-512 as upstream). */
export interface SignatureAlgorithm {
  readonly oid: string;
  readonly hash: 'sha256' | 'sha384' | 'sha512' | null;
  readonly name: string;
}

/** Signature algorithm OIDs we emit and accept. */
export const SignatureAlgorithms = {
  ed25519: { oid: '1.3.101.112', hash: null, name: 'ED25519' },
  ecdsaSha256: { oid: '1.2.840.10045.4.3.2', hash: 'sha256', name: 'ecdsa-with-SHA256' },
  ecdsaSha384: { oid: '1.2.840.10045.4.3.3', hash: 'sha384', name: 'ecdsa-with-SHA384' },
  ecdsaSha512: { oid: '1.2.840.10045.4.3.4', hash: 'sha512', name: 'ecdsa-with-SHA512' },
  rsaSha256: { oid: '1.2.840.113549.1.1.11', hash: 'sha256', name: 'sha256WithRSAEncryption' },
  rsaSha384: { oid: '1.2.840.113549.1.1.12', hash: 'sha384', name: 'sha384WithRSAEncryption' },
  rsaSha512: { oid: '1.2.840.113549.1.1.13', hash: 'sha512', name: 'sha512WithRSAEncryption' },
} as const satisfies Record<string, SignatureAlgorithm>;

/** The algorithm used to sign with a key of the given type. */
export function signatureAlgorithmFor(type: KeyType): SignatureAlgorithm {
  return type === 'ed25519'
    ? SignatureAlgorithms.ed25519
    : type === 'ecdsa'
      ? SignatureAlgorithms.ecdsaSha256
      : SignatureAlgorithms.rsaSha512;
}

/** AlgorithmIdentifier DER: RSA algorithms carry NULL parameters, ECDSA and Ed25519 none. */
export function algorithmIdentifierDer(alg: SignatureAlgorithm): Buffer {
  return alg.oid.startsWith('1.2.840.113549.')
    ? derSequence(derOid(alg.oid), derNull())
    : derSequence(derOid(alg.oid));
}

/** Signs bytes with the key's algorithm; ECDSA signatures come out DER encoded, as X.509 wants. */
export function signWith(key: KeyObject, alg: SignatureAlgorithm, data: Uint8Array): Buffer {
  return sign(alg.hash, data, key);
}

/** Verifies a signature made by {@link signWith} (or anyone using one of the known OIDs). */
export function verifyWith(publicKey: KeyObject, algOid: string, data: Uint8Array, signature: Uint8Array): boolean {
  const alg = Object.values(SignatureAlgorithms).find((a) => a.oid === algOid);
  if (!alg) throw new Error(`unsupported signature algorithm ${algOid}`);
  return verify(alg.hash, data, publicKey, signature);
}
