import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Code, TalosError, type Logger } from '@talos-ts/cosi';
import { extractLayer, INSTALLER_ASSET_DIR, InstallerFiles, parseImageReference, pullImage, type RegistryMirrors } from '@talos-ts/machinery';

/** The signed manifest's companions an installer image carries beside the files an install writes. */
const SIGNATURE_FILES = ['manifest.sig', 'signing-key.pub'] as const;

/** Options of {@link pullInstallAssets}. */
export interface PullInstallOptions {
  /** `machine.registries.mirrors` (an `http://` endpoint reaches a registry without TLS). */
  readonly mirrors?: RegistryMirrors;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

const sha256File = (path: string): Promise<string> =>
  new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path)
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest('hex')));
  });

/**
 * Pulls an installer OCI image (`machine.install.image`, the image of an upgrade) and leaves its
 * files in dir, named as in an image directory: the registry's digests are checked for the
 * manifest and every blob while they stream, then each installer file against the image's own
 * manifest.json. Everything happens in a scratch directory beside dir, so a failed pull leaves
 * dir untouched. Registry down: Unavailable; unknown tag or repository: NotFound; a corrupt blob
 * or a file the manifest does not describe: DataLoss.
 *
 * Not through containerd's content store: our containerd client speaks only the containers and
 * tasks services, and the installer's files are only read once, by the install itself.
 */
export async function pullInstallAssets(reference: string, dir: string, options: PullInstallOptions = {}): Promise<Record<keyof typeof InstallerFiles, string>> {
  const ref = parseImageReference(reference);
  mkdirSync(dirname(dir), { recursive: true });
  const scratch = mkdtempSync(join(dirname(dir), '.pull-'));
  const t0 = Date.now();
  try {
    const pulled = await pullImage(ref, { dir: join(scratch, 'blobs'), ...(options.mirrors ? { mirrors: options.mirrors } : {}), ...(options.signal ? { signal: options.signal } : {}) });
    const files = join(scratch, 'files');
    const wanted = new Set<string>([...Object.values(InstallerFiles), ...SIGNATURE_FILES]);
    const prefix = `${INSTALLER_ASSET_DIR}/`;
    for (const layer of pulled.layers) {
      // Later layers win, as when containerd unpacks them over each other.
      await extractLayer({
        path: layer.path,
        mediaType: layer.descriptor.mediaType,
        dest: files,
        select: (e) => {
          const name = e.name.replace(/^\.?\/+/, '');
          return name.startsWith(prefix) && wanted.has(name.slice(prefix.length)) ? name.slice(prefix.length) : undefined;
        },
        ...(options.signal ? { signal: options.signal } : {}),
      });
    }
    let manifest: { artifacts?: Record<string, { sha256: string; sizeBytes: number }> };
    try {
      manifest = JSON.parse(readFileSync(join(files, InstallerFiles.manifest), 'utf8')) as typeof manifest;
    } catch {
      throw new TalosError(Code.InvalidArgument, `${pulled.reference}: not an installer image: no readable ${INSTALLER_ASSET_DIR}/${InstallerFiles.manifest}`);
    }
    for (const [role, name] of Object.entries(InstallerFiles)) {
      if (role === 'manifest') continue;
      const want = manifest.artifacts?.[name];
      if (!want) throw new TalosError(Code.InvalidArgument, `${pulled.reference}: the manifest lists no ${name}`);
      let size: number;
      try {
        size = statSync(join(files, name)).size;
      } catch {
        throw new TalosError(Code.InvalidArgument, `${pulled.reference}: not an installer image: no ${INSTALLER_ASSET_DIR}/${name}`);
      }
      const sum = await sha256File(join(files, name));
      if (size !== want.sizeBytes || sum !== want.sha256) throw new TalosError(Code.DataLoss, `${pulled.reference}: ${name}: sha256 ${sum} does not match the manifest's ${want.sha256}`);
    }
    mkdirSync(dir, { recursive: true });
    const out: Record<string, string> = {};
    for (const [role, name] of Object.entries(InstallerFiles)) {
      renameSync(join(files, name), join(dir, name));
      out[role] = join(dir, name);
    }
    for (const name of SIGNATURE_FILES) {
      try {
        renameSync(join(files, name), join(dir, name));
      } catch {
        // An unsigned image still installs here; whether it may is the signature check's call.
      }
    }
    options.logger?.info('installer pulled', { image: pulled.reference, digest: pulled.manifestDigest, ms: Date.now() - t0 });
    return out as Record<keyof typeof InstallerFiles, string>;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
