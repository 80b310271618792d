import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { Annotation, INSTALLER_ASSET_DIR, MediaType, type Descriptor, type ImageIndexDoc, type ImageManifestDoc } from './media.ts';
import { TAR_END, tarHeader, tarPadding } from './tar.ts';

/** Options of {@link writeInstallerLayout}. */
export interface InstallerLayoutOptions {
  /** The layout directory to (re)create. */
  readonly dir: string;
  /** Layer file name → file on the host; they land under `usr/install/amd64/`. */
  readonly files: ReadonlyArray<readonly [name: string, hostPath: string]>;
  readonly version: string;
  readonly revision: string;
  /** The tag index.json names the image by (`org.opencontainers.image.ref.name`); default the version. */
  readonly tag?: string;
}

const COPY_CHUNK = 1 << 20;

/** Writes bytes to a blob file named by their digest; returns the descriptor. */
function putBlob(blobDir: string, mediaType: string, bytes: Buffer, annotations?: Record<string, string>): Descriptor {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(blobDir, hex), bytes);
  return { mediaType, digest: `sha256:${hex}`, size: bytes.length, ...(annotations ? { annotations } : {}) };
}

/**
 * Writes an installer as an OCI image layout (oci-layout, index.json, blobs/sha256/): one
 * uncompressed tar layer holding the files under upstream's `usr/install/amd64/`, a config naming
 * the platform, and a manifest annotated with the version and revision. The layer is streamed
 * (the root is hundreds of MB) and has fixed owners and mtimes, so the same files give the same
 * digests on every build. Returns the manifest's descriptor.
 */
export function writeInstallerLayout(options: InstallerLayoutOptions): Descriptor {
  const blobDir = join(options.dir, 'blobs', 'sha256');
  rmSync(options.dir, { recursive: true, force: true });
  mkdirSync(blobDir, { recursive: true });
  writeFileSync(join(options.dir, 'oci-layout'), `${JSON.stringify({ imageLayoutVersion: '1.0.0' })}\n`);

  const tmp = join(blobDir, 'layer.part');
  const hash = createHash('sha256');
  const out = openSync(tmp, 'w');
  let size = 0;
  const emit = (b: Buffer, n = b.length): void => {
    const part = n === b.length ? b : b.subarray(0, n);
    hash.update(part);
    writeSync(out, part);
    size += n;
  };
  const buf = Buffer.alloc(COPY_CHUNK);
  try {
    const parts = INSTALLER_ASSET_DIR.split('/');
    for (let i = 1; i <= parts.length; i++) emit(tarHeader({ name: parts.slice(0, i).join('/'), type: 'dir' }));
    for (const [name, hostPath] of options.files) {
      if (name.includes('/')) throw new TalosError(Code.InvalidArgument, `installer file ${name}: names are flat`);
      const fileSize = statSync(hostPath).size;
      emit(tarHeader({ name: `${INSTALLER_ASSET_DIR}/${name}`, type: 'file', size: fileSize, mode: 0o644 }));
      const fd = openSync(hostPath, 'r');
      try {
        let done = 0;
        while (done < fileSize) {
          const n = readSync(fd, buf, 0, Math.min(COPY_CHUNK, fileSize - done), done);
          if (n === 0) throw new TalosError(Code.DataLoss, `${hostPath}: shrank while being read`);
          emit(buf, n);
          done += n;
        }
      } finally {
        closeSync(fd);
      }
      emit(tarPadding(fileSize));
    }
    emit(TAR_END);
  } finally {
    closeSync(out);
  }
  const layerHex = hash.digest('hex');
  renameSync(tmp, join(blobDir, layerHex));
  const layer: Descriptor = { mediaType: MediaType.ociLayer, digest: `sha256:${layerHex}`, size };

  const config = putBlob(
    blobDir,
    MediaType.ociConfig,
    Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', config: { Labels: { [Annotation.version]: options.version } }, rootfs: { type: 'layers', diff_ids: [layer.digest] } })),
  );
  const annotations = { [Annotation.version]: options.version, [Annotation.revision]: options.revision, [Annotation.title]: 'talos-ts installer' };
  const manifest: ImageManifestDoc = { schemaVersion: 2, mediaType: MediaType.ociManifest, config, layers: [layer], annotations };
  const top = putBlob(blobDir, MediaType.ociManifest, Buffer.from(JSON.stringify(manifest)));
  const described: Descriptor = { ...top, annotations: { [Annotation.refName]: options.tag ?? options.version }, platform: { os: 'linux', architecture: 'amd64' } };
  const index: ImageIndexDoc = { schemaVersion: 2, mediaType: MediaType.ociIndex, manifests: [described] };
  writeFileSync(join(options.dir, 'index.json'), `${JSON.stringify(index)}\n`);
  return described;
}
