import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Code, TalosError, type Logger } from '@talos-ts/cosi';
import { extractLayer, INSTALLER_ASSET_DIR, InstallerFiles, parseImageReference, pullImage, type PulledImage, type RegistryMirrors } from '@talos-ts/machinery';
import { ContainerdContent } from '../containerd/content.ts';
import { SYSTEM_NAMESPACE } from '../containerd/inspector.ts';

/** The signed manifest's companions an installer image carries beside the files an install writes. */
const SIGNATURE_FILES = ['manifest.sig', 'signing-key.pub'] as const;

/** The label prefix by which a blob keeps the blobs it names from containerd's garbage collector. */
const GC_REF_CONTENT = 'containerd.io/gc.ref.content.';

/** The namespace containerd keeps Talos's own images in (`talosctl image list --namespace system`). */
export const INSTALLER_NAMESPACE = SYSTEM_NAMESPACE;

/** Options of {@link pullInstallAssets}. */
export interface PullInstallOptions {
  /** `machine.registries.mirrors` (an `http://` endpoint reaches a registry without TLS). */
  readonly mirrors?: RegistryMirrors;
  /**
   * The socket of the node's system containerd: the image goes through its content store. When
   * the socket is not there or does not answer, the installer is taken from the direct pull (an
   * info line says so).
   */
  readonly containerdSocket?: string;
  /**
   * Called with the directory of the extracted, digest-checked files before anything is kept: a
   * throw refuses the image (no image record in containerd, nothing in dir). The signature check.
   */
  readonly accept?: (filesDir: string) => void;
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
 * With `containerdSocket`, the image goes through containerd as upstream's pull does: the blobs
 * are downloaded (and checked) into the scratch directory first, since containerd 1.6 has no
 * server-side pull and its own pull is client-side too, then written into the content store
 * (namespace system) under a lease, containerd checking each digest again as it commits them; the
 * manifest carries the `containerd.io/gc.ref.content.*` labels that keep its config and layers.
 * The files are extracted from the layers read back from the content store, so what is installed
 * is what containerd holds. Only once they match the image's manifest does an image record named
 * by the full reference point at the manifest: a bad installer leaves no record, and its blobs go
 * with the lease.
 */
export async function pullInstallAssets(reference: string, dir: string, options: PullInstallOptions = {}): Promise<Record<keyof typeof InstallerFiles, string>> {
  const ref = parseImageReference(reference);
  mkdirSync(dirname(dir), { recursive: true });
  const scratch = mkdtempSync(join(dirname(dir), '.pull-'));
  const t0 = Date.now();
  const { signal } = options;
  let store: ContainerdContent | undefined;
  let lease: string | undefined;
  try {
    const pulled = await pullImage(ref, { dir: join(scratch, 'blobs'), ...(options.mirrors ? { mirrors: options.mirrors } : {}), ...(signal ? { signal } : {}) });
    if (options.containerdSocket !== undefined) {
      const opened = await openContainerd(options.containerdSocket, options.logger, signal);
      if (opened) ({ store, lease } = opened);
    }
    const source = store && lease !== undefined ? await storeImage(store, lease, pulled, signal) : undefined;
    const files = join(scratch, 'files');
    const wanted = new Set<string>([...Object.values(InstallerFiles), ...SIGNATURE_FILES]);
    const prefix = `${INSTALLER_ASSET_DIR}/`;
    for (const layer of pulled.layers) {
      // Later layers win, as when containerd unpacks them over each other.
      await extractLayer({
        path: source ? `containerd ${INSTALLER_NAMESPACE} content ${layer.descriptor.digest}` : layer.path,
        ...(source ? { source: source(layer.descriptor.digest) } : {}),
        mediaType: layer.descriptor.mediaType,
        dest: files,
        select: (e) => {
          const name = e.name.replace(/^\.?\/+/, '');
          return name.startsWith(prefix) && wanted.has(name.slice(prefix.length)) ? name.slice(prefix.length) : undefined;
        },
        ...(signal ? { signal } : {}),
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
    options.accept?.(files);
    if (store && lease !== undefined) {
      await store.putImage(pulled.reference, { mediaType: pulled.manifestMediaType, digest: pulled.manifestDigest, size: statSync(pulled.manifestPath).size }, { lease, ...(signal ? { signal } : {}) });
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
    options.logger?.info('installer pulled', { image: pulled.reference, digest: pulled.manifestDigest, ms: Date.now() - t0, ...(store ? { containerd: INSTALLER_NAMESPACE } : {}) });
    return out as Record<keyof typeof InstallerFiles, string>;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
    if (store && lease !== undefined) {
      // The image record (when there is one) now keeps the blobs; without it they are garbage.
      await store.deleteLease(lease).catch((err: unknown) => options.logger?.warn('could not delete the pull lease; it expires by itself', { lease, error: (err as Error).message }));
    }
    store?.close();
  }
}

/**
 * A client on containerd's socket with a lease for the pull, or undefined (with an info line) when
 * containerd is not running there: the install then takes the installer from the direct pull.
 */
async function openContainerd(socket: string, logger: Logger | undefined, signal: AbortSignal | undefined): Promise<{ store: ContainerdContent; lease: string } | undefined> {
  const fallback = (why: string): undefined => {
    logger?.info('containerd is not running; the installer is taken from the direct pull, not from its content store', { socket, why });
    return undefined;
  };
  if (!existsSync(socket)) return fallback('no socket');
  const store = new ContainerdContent({ socket, namespace: INSTALLER_NAMESPACE, timeoutMs: 10_000 });
  try {
    return { store, lease: await store.createLease(signal ? { signal } : {}) };
  } catch (err) {
    store.close();
    if (err instanceof TalosError && err.code === Code.Unavailable && !signal?.aborted) return fallback(err.message);
    throw err;
  }
}

/**
 * Writes the config, the layers and then the manifest (labelled with its children, as containerd's
 * own pull does) into the content store under the lease; returns how to read a blob back.
 */
async function storeImage(store: ContainerdContent, lease: string, pulled: PulledImage, signal: AbortSignal | undefined): Promise<(digest: string) => AsyncIterable<Uint8Array>> {
  const call = { lease, ...(signal ? { signal } : {}) };
  // Lazy: a blob containerd already holds is never opened.
  const fromFile = (path: string): AsyncIterable<Uint8Array> => ({ [Symbol.asyncIterator]: () => createReadStream(path, { highWaterMark: 1 << 20 })[Symbol.asyncIterator]() });
  const write = async (desc: { mediaType: string; digest: string; size: number }, path: string, labels?: Record<string, string>): Promise<void> => {
    try {
      await store.writeBlob({ mediaType: desc.mediaType, digest: desc.digest, size: desc.size }, fromFile(path), { ...call, ...(labels ? { labels } : {}) });
    } catch (err) {
      if (err instanceof TalosError && err.code === Code.FailedPrecondition) throw new TalosError(Code.DataLoss, `${pulled.reference}: blob ${desc.digest}: containerd refused it: ${err.message}`, { cause: err });
      if (err instanceof TalosError) throw new TalosError(err.code, `${pulled.reference}: storing blob ${desc.digest} in containerd: ${err.message}`, { cause: err });
      throw err;
    }
  };
  // Each downloaded blob goes once containerd holds it: the disk never keeps two copies of the image.
  await write(pulled.manifest.config, pulled.configPath);
  rmSync(pulled.configPath, { force: true });
  for (const l of pulled.layers) {
    await write(l.descriptor, l.path);
    rmSync(l.path, { force: true });
  }
  const children: Record<string, string> = { [`${GC_REF_CONTENT}config`]: pulled.manifest.config.digest };
  pulled.layers.forEach((l, i) => (children[`${GC_REF_CONTENT}l.${i}`] = l.descriptor.digest));
  await write({ mediaType: pulled.manifestMediaType, digest: pulled.manifestDigest, size: statSync(pulled.manifestPath).size }, pulled.manifestPath, children);
  return (digest) => store.readBlob(digest, call);
}
