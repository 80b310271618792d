import { createHash, createPublicKey, sign, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { manifestSignedBy } from '@talos-ts/machinery';

/** The image's files, by role. */
export const ArtifactName = {
  kernel: 'vmlinuz',
  initramfs: 'initramfs.img',
  rootfs: 'rootfs.sqsh',
} as const;

/**
 * The uncompressed kernel (ELF with a PVH entry) that `fast` images carry beside vmlinuz: QEMU starts
 * it directly, skipping the bzImage's own xz decompression (~3.5 s under TCG). Listed and signed in
 * the manifest like the other artifacts; `small` (release) images leave it out.
 */
export const KERNEL_ELF = 'vmlinux';

/** The manifest file, its detached signature and the public key that checks it. */
export const MANIFEST_FILE = 'manifest.json';
export const SIGNATURE_FILE = 'manifest.sig';
export const PUBLIC_KEY_FILE = 'signing-key.pub';

/** Compression presets: fast to build and boot for tests, small for releases. */
export type CompressionPreset = 'fast' | 'small';

/** What an image is: versions, the digest of every file, and how it was compressed. */
export interface ImageManifest {
  readonly schema: 1;
  readonly version: string;
  readonly gitRevision: string;
  readonly kernelRelease: string;
  readonly compression: { readonly preset: CompressionPreset; readonly rootfs: string; readonly initramfs: string };
  /** Kernel arguments the image's boot entries carry (`--extra-kernel-arg`); an upgrade writes them for its slot. */
  readonly extraKernelArgs?: readonly string[];
  /** The image's top-level files (kernel, initramfs, rootfs; vmlinux in `fast` images). */
  readonly artifacts: Readonly<Record<string, { readonly sizeBytes: number; readonly sha256: string }>>;
  /** Every regular file inside the SquashFS root, path → sha256. */
  readonly rootfsFiles: Readonly<Record<string, string>>;
  /** Every regular file inside the initramfs, path → sha256. */
  readonly initramfsFiles: Readonly<Record<string, string>>;
}

/** Hex SHA-256 of bytes. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hex SHA-256 of a file, streamed (images hold files of hundreds of MB). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });
}

/** The manifest's canonical bytes: sorted keys, so the digest does not depend on insertion order. */
export function encodeManifest(manifest: ImageManifest): Buffer {
  const sortKeys = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, x]) => [k, sortKeys(x)]))
      : v;
  return Buffer.from(`${JSON.stringify(sortKeys(manifest), null, 2)}\n`);
}

/** Ed25519 signature over the SHA-256 digest of the manifest bytes, base64. */
export function signManifest(manifestBytes: Uint8Array, privateKey: KeyObject): string {
  const digest = createHash('sha256').update(manifestBytes).digest();
  return sign(null, digest, privateKey).toString('base64');
}

/** True when `signature` is a valid Ed25519 signature of the manifest's digest by `publicKey`. */
export function checkManifestSignature(manifestBytes: Uint8Array, signature: string, publicKey: KeyObject): boolean {
  return manifestSignedBy(manifestBytes, signature, publicKey);
}

/** Options of {@link verifyImage}. */
export interface VerifyOptions {
  /** The trusted key (PEM); defaults to the image's own signing-key.pub (integrity only, not origin). */
  readonly publicKeyPem?: string;
}

/**
 * Checks an image directory: the manifest's signature, then every artifact's size and digest.
 * Returns the manifest, or the first problem found.
 */
export async function verifyImage(dir: string, options: VerifyOptions = {}): Promise<{ value: ImageManifest } | { error: string }> {
  let manifestBytes: Buffer;
  let signature: string;
  let keyPem: string;
  try {
    manifestBytes = await readFile(join(dir, MANIFEST_FILE));
    signature = await readFile(join(dir, SIGNATURE_FILE), 'utf8');
    keyPem = options.publicKeyPem ?? (await readFile(join(dir, PUBLIC_KEY_FILE), 'utf8'));
  } catch (err) {
    return { error: `${dir}: ${(err as Error).message}` };
  }
  let key: KeyObject;
  try {
    key = createPublicKey(keyPem);
  } catch (err) {
    return { error: `public key: ${(err as Error).message}` };
  }
  if (key.asymmetricKeyType !== 'ed25519') return { error: `public key: want ed25519, got ${key.asymmetricKeyType ?? '?'}` };
  if (!checkManifestSignature(manifestBytes, signature, key)) return { error: `${MANIFEST_FILE}: signature does not match` };
  const manifest = JSON.parse(manifestBytes.toString('utf8')) as ImageManifest;
  for (const [name, want] of Object.entries(manifest.artifacts)) {
    let got: string;
    try {
      got = await sha256File(join(dir, name));
    } catch (err) {
      return { error: `${name}: ${(err as Error).message}` };
    }
    if (got !== want.sha256) return { error: `${name}: sha256 ${got} does not match the manifest's ${want.sha256}` };
  }
  return { value: manifest };
}
