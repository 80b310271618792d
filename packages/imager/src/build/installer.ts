import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { InstallerFiles, parseImageReference, pushImageLayout, writeInstallerLayout, type Descriptor, type PushResult } from '@talos-ts/machinery';
import { MANIFEST_FILE, PUBLIC_KEY_FILE, SIGNATURE_FILE, type ImageManifest } from '../manifest.ts';

/** The installer OCI image layout inside an image directory. */
export const INSTALLER_LAYOUT = 'installer';

/** The files the installer image carries: what an install writes, and the signed manifest with its signature and key. */
export const INSTALLER_IMAGE_FILES: readonly string[] = [...new Set([...Object.values(InstallerFiles), MANIFEST_FILE, SIGNATURE_FILE, PUBLIC_KEY_FILE])];

/**
 * Writes `<imageDir>/installer/`, the image directory's installer as an OCI image layout tagged with
 * the image's version (see writeInstallerLayout). The files must already be signed.
 */
export function writeInstallerImage(imageDir: string): Descriptor {
  const manifest = JSON.parse(readFileSync(join(imageDir, MANIFEST_FILE), 'utf8')) as ImageManifest;
  const missing = INSTALLER_IMAGE_FILES.filter((n) => !existsSync(join(imageDir, n)));
  if (missing.length > 0) throw new Error(`${imageDir}: no ${missing.join(', ')}: not an image directory with installer assets`);
  return writeInstallerLayout({
    dir: join(imageDir, INSTALLER_LAYOUT),
    files: INSTALLER_IMAGE_FILES.map((n) => [n, join(imageDir, n)] as const),
    version: `v${manifest.version.replace(/^v/, '')}`,
    revision: manifest.gitRevision,
  });
}

/**
 * Pushes an installer image to a registry: `dir` is an image directory (its installer/ layout is
 * pushed) or an OCI layout. `insecure` reaches the registry over plain HTTP whatever its host.
 */
export async function pushInstaller(dir: string, reference: string, options: { insecure?: boolean; signal?: AbortSignal } = {}): Promise<PushResult> {
  const layout = existsSync(join(dir, 'oci-layout')) ? dir : join(dir, INSTALLER_LAYOUT);
  if (!existsSync(join(layout, 'oci-layout'))) throw new Error(`${dir}: neither an OCI image layout nor an image directory with ${INSTALLER_LAYOUT}/`);
  const ref = parseImageReference(reference);
  return pushImageLayout(layout, ref, {
    ...(options.insecure ? { mirrors: { [ref.registry]: { endpoints: [`http://${ref.registry}`], skipFallback: true } } } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
}
