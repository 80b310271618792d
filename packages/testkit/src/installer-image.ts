import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { IMAGE_SIGNATURE_FILE, InstallerFiles } from '@talos-ts/machinery';

/** A small installer image directory's files, signed, and the key that a node must trust for it. */
export interface SignedInstallerImage {
  /** File name → bytes: the installer files, manifest.json and manifest.sig. */
  readonly files: Record<string, Buffer>;
  /** The public key (PEM) a node trusts for this image (its `trustedImageKey`). */
  readonly trustedKeyPem: string;
}

/**
 * Stand-in installer files (`<name> of <label>`) with a manifest of their digests, signed by a fresh
 * Ed25519 key as the imager signs: for tests of upgrade paths that do not need a bootable image.
 */
export function signedInstallerImage(label: string): SignedInstallerImage {
  const files: Record<string, Buffer> = {};
  const artifacts: Record<string, { sha256: string; sizeBytes: number }> = {};
  for (const [role, name] of Object.entries(InstallerFiles)) {
    if (role === 'manifest') continue;
    const bytes = Buffer.from(`${name} of ${label}`);
    files[name] = bytes;
    artifacts[name] = { sha256: createHash('sha256').update(bytes).digest('hex'), sizeBytes: bytes.length };
  }
  const manifest = Buffer.from(JSON.stringify({ schema: 1, artifacts }));
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  files[InstallerFiles.manifest] = manifest;
  files[IMAGE_SIGNATURE_FILE] = Buffer.from(`${sign(null, createHash('sha256').update(manifest).digest(), privateKey).toString('base64')}\n`);
  return { files, trustedKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
}
