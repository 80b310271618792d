// The two versions a qemu-cluster upgrade suite needs, and etcd client files for Debian's etcdctl:
// shared by vm-cluster (1 control plane + 1 worker) and vm-quorum (3 control planes).
import { generateKeyPairSync } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, encodeManifest, INSTALLER_IMAGE_FILES, MANIFEST_FILE, SIGNATURE_FILE, signManifest, writeInstallerImage, type ImageManifest } from '@talos-ts/imager';
import { generateClientCertificate, loadSecretsBundle, privateKeyFromPem } from '@talos-ts/machinery';

/** Image A (the cluster's version) and image B (another tag, signed by the key A trusts). */
export interface UpgradeImages {
  readonly dirA: string;
  readonly dirB: string;
  /** A's version, without the `v`. */
  readonly versionA: string;
  /** The key (PEM) that signed A and B: the one the nodes trust. */
  readonly keyFile: string;
}

/** The image directory buildImage made under outDir (talos-ts-<version>-fast), if any. */
export function builtImageDir(outDir: string): string | undefined {
  if (!existsSync(outDir)) return undefined;
  const d = readdirSync(outDir).find((n) => n.startsWith('talos-ts-') && existsSync(join(outDir, n, MANIFEST_FILE)));
  return d ? join(outDir, d) : undefined;
}

/**
 * Builds A and B under imagesDir (a/, b/ and A's signing key), or reuses those built there before:
 * a suite pointed at a kept directory skips both builds (delete it after changing the node's code).
 */
export async function buildUpgradeImages(repoRoot: string, imagesDir: string, versionB: string): Promise<UpgradeImages> {
  mkdirSync(imagesDir, { recursive: true });
  const keyFile = join(imagesDir, 'signing-key.pem');
  let dirA = builtImageDir(join(imagesDir, 'a')) ?? '';
  if (!dirA || !existsSync(keyFile)) {
    const a = await buildImage({ repoRoot, outDir: join(imagesDir, 'a'), compression: 'fast', disk: false });
    dirA = a.dir;
    writeFileSync(keyFile, a.generatedKeyPem ?? '', { mode: 0o600 });
  }
  // B: the node's programs rebuilt with another tag, signed by the key A trusts.
  let dirB = builtImageDir(join(imagesDir, 'b')) ?? '';
  if (!dirB) {
    dirB = (await buildImage({ repoRoot, outDir: join(imagesDir, 'b'), compression: 'fast', version: versionB, signingKeyPem: readFileSync(keyFile, 'utf8'), disk: false, reuseBuild: true })).dir;
  }
  const versionA = (JSON.parse(readFileSync(join(dirA, MANIFEST_FILE), 'utf8')) as { version: string }).version;
  return { dirA, dirB, versionA, keyFile };
}

/** Installer image directories made from B's files, for the refusals and the automatic rollback. */
export interface BadVariants {
  /** B with one more kernel argument that makes its slot panic, signed by the trusted key. */
  readonly broken: string;
  /** B exactly, signed by a key the nodes do not trust. */
  readonly otherKey: string;
}

/**
 * Writes the two variants of B under outDir, each an image directory with its own installer layout
 * (B's files hard-linked; only manifest.json and manifest.sig differ), ready for pushInstaller.
 */
export function writeBadVariants(images: UpgradeImages, outDir: string, breakArg: string): BadVariants {
  const manifestB = readFileSync(join(images.dirB, MANIFEST_FILE));
  const parsed = JSON.parse(manifestB.toString('utf8')) as ImageManifest;
  const broken = encodeManifest({ ...parsed, extraKernelArgs: [...(parsed.extraKernelArgs ?? []), breakArg] });
  const trusted = privateKeyFromPem(readFileSync(images.keyFile, 'utf8')).privateKey;
  const stranger = generateKeyPairSync('ed25519').privateKey;
  const variant = (name: string, manifest: Buffer, signature: string): string => {
    const dir = join(outDir, name);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    for (const f of INSTALLER_IMAGE_FILES.filter((n) => n !== MANIFEST_FILE && n !== SIGNATURE_FILE)) {
      try {
        linkSync(join(images.dirB, f), join(dir, f));
      } catch {
        copyFileSync(join(images.dirB, f), join(dir, f));
      }
    }
    writeFileSync(join(dir, MANIFEST_FILE), manifest);
    writeFileSync(join(dir, SIGNATURE_FILE), signature);
    writeInstallerImage(dir);
    return dir;
  };
  return {
    broken: variant('broken', broken, signManifest(broken, trusted)),
    otherKey: variant('otherkey', manifestB, signManifest(manifestB, stranger)),
  };
}

/** Writes ca.crt, client.crt and client.key into dir: a client of the cluster's etcd CA (from its secrets.yaml). */
export async function writeEtcdClientFiles(secretsFile: string, dir: string): Promise<void> {
  const bundle = await loadSecretsBundle(secretsFile);
  const client = await generateClientCertificate({ osCa: bundle.certs.etcd, roles: [] });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'ca.crt'), bundle.certs.etcd.crt);
  writeFileSync(join(dir, 'client.crt'), client.crt);
  writeFileSync(join(dir, 'client.key'), client.key, { mode: 0o600 });
}
