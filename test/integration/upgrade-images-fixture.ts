// The two versions a qemu-cluster upgrade suite needs, and etcd client files for Debian's etcdctl:
// shared by vm-cluster (1 control plane + 1 worker) and vm-quorum (3 control planes).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildImage, MANIFEST_FILE } from '@talos-ts/imager';
import { generateClientCertificate, loadSecretsBundle } from '@talos-ts/machinery';

/**
 * Why a qemu-cluster upgrade suite is skipped (`what` it does, for the TALOS_SLOW hint), or false
 * when it runs: it needs TALOS_SLOW=1 and root (the provisioner makes a namespace and tap devices).
 */
export function qemuSuiteSkip(what: string): string | false {
  if (process.env.TALOS_SLOW !== '1') return `slow suite: set TALOS_SLOW=1 (${what})`;
  return process.getuid?.() === 0 ? false : 'needs root: the qemu provisioner creates a network namespace and tap devices';
}

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

/** Installer images of version B that must not become the running version. */
export interface BadVariants {
  /** Built with `--extra-kernel-arg <breakArg>` (a slot that panics), signed by the trusted key. */
  readonly broken: string;
  /** Built without a key: the imager signs it with a key of its own, which the nodes do not trust. */
  readonly otherKey: string;
}

/**
 * Builds the two variants of B under imagesDir (broken/, otherkey/) from the programs already
 * built for A and B (a few seconds each), or reuses those built there before.
 */
export async function buildBadVariants(repoRoot: string, images: UpgradeImages, imagesDir: string, versionB: string, breakArg: string): Promise<BadVariants> {
  const base = { repoRoot, compression: 'fast', version: versionB, disk: false, reuseBuild: true } as const;
  const broken =
    builtImageDir(join(imagesDir, 'broken')) ??
    (await buildImage({ ...base, outDir: join(imagesDir, 'broken'), signingKeyPem: readFileSync(images.keyFile, 'utf8'), extraKernelArgs: [breakArg] })).dir;
  const otherKey = builtImageDir(join(imagesDir, 'otherkey')) ?? (await buildImage({ ...base, outDir: join(imagesDir, 'otherkey') })).dir;
  return { broken, otherKey };
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
