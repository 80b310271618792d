import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { Code, TalosError } from '@talos-ts/cosi';

/** The detached signature of an image's manifest.json (base64 Ed25519 over the manifest's SHA-256). */
export const IMAGE_SIGNATURE_FILE = 'manifest.sig';

/** What a node reads of an image's manifest besides the artifact digests. */
export interface ImageManifestHead {
  readonly version?: string;
  /** Kernel arguments the image was built with (`talos-imager build --extra-kernel-arg`). */
  readonly extraKernelArgs?: readonly string[];
  readonly artifacts?: Readonly<Record<string, { readonly sha256: string; readonly sizeBytes: number }>>;
}

function ed25519Key(pem: string): KeyObject | string {
  try {
    const key = createPublicKey(pem);
    return key.asymmetricKeyType === 'ed25519' ? key : `want an ed25519 key, got ${key.asymmetricKeyType ?? '?'}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** True when `signature` (base64) is an Ed25519 signature of the SHA-256 of `manifestBytes` by `key`. */
export function manifestSignedBy(manifestBytes: Uint8Array, signature: string, key: KeyObject): boolean {
  const digest = createHash('sha256').update(manifestBytes).digest();
  try {
    return verify(null, digest, key, Buffer.from(signature.trim(), 'base64'));
  } catch {
    return false;
  }
}

/**
 * Checks an installer's manifest against the key the running image trusts. Throws
 * FailedPrecondition when the node trusts no key (nothing can be verified, so nothing is installed)
 * and PermissionDenied when the manifest is not signed by that key; returns the parsed manifest.
 */
export function verifyTrustedManifest(options: { manifestBytes: Uint8Array; signature: string; trustedKeyPem: string | undefined; source: string }): ImageManifestHead {
  if (options.trustedKeyPem === undefined || options.trustedKeyPem.trim() === '') {
    throw new TalosError(Code.FailedPrecondition, `${options.source}: the running image trusts no signing key, so no installer can be verified`);
  }
  const key = ed25519Key(options.trustedKeyPem);
  if (typeof key === 'string') throw new TalosError(Code.FailedPrecondition, `${options.source}: the running image's signing key is unusable: ${key}`);
  if (!manifestSignedBy(options.manifestBytes, options.signature, key)) {
    throw new TalosError(Code.PermissionDenied, `${options.source}: manifest.json is not signed by the key this node trusts`);
  }
  try {
    return JSON.parse(Buffer.from(options.manifestBytes).toString('utf8')) as ImageManifestHead;
  } catch (err) {
    throw new TalosError(Code.InvalidArgument, `${options.source}: manifest.json: ${(err as Error).message}`, { cause: err });
  }
}
