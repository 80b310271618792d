import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code, TalosError, type Logger } from '@talos-ts/cosi';
import {
  bootChoiceEnv, bootloaderWrites, encodeGrubEnv, grubConfig, IMAGE_SIGNATURE_FILE, InstallerFiles, isTalosLayout, looksLikeImageReference, parseImageReference, partitionByLabel, SECTOR_BYTES, slotFiles, talosLayout,
  verifyTrustedManifest,
  type GptLayout, type RegistryMirrors, type GptPartition, type PartitionLabelName,
} from '@talos-ts/machinery';
import { copyImageInto, makeXfsImage, readGpt, writeChunks } from '../linux/disk.ts';
import { pullInstallAssets } from './oci-install.ts';

/**
 * Kernel arguments of an installed slot before the image's and the config's extra ones. `panic=1`
 * (upstream's for its VMs) makes a kernel panic restart the machine instead of hanging: that is
 * what sends a slot tried once and failing back to the previous one with no one acting.
 */
export const INSTALL_KERNEL_ARGS = ['console=ttyS0', 'talos.platform=metal', 'panic=1'] as const;

/** The files an install writes, on the host doing it (the imager's installer assets). */
export interface InstallAssets {
  readonly kernel: string;
  readonly initramfs: string;
  /** The root SquashFS wrapped in a cpio (the imager's rootfs.cpio). */
  readonly rootfsCpio: string;
  /** GRUB's boot.img and core.img for BIOS. */
  readonly bootImg: string;
  readonly coreImg: string;
}

/** Options of {@link installToDisk}. */
export interface InstallOptions {
  /** The disk: a block device on a node (`machine.install.disk`), a regular file in tests. */
  readonly disk: string;
  readonly diskSizeBytes: number;
  readonly assets: InstallAssets;
  /** The machine config written to STATE, so the first boot from disk is configured. */
  readonly configYaml: string;
  /** `machine.install.wipe`: install even over an existing Talos install. */
  readonly wipe?: boolean;
  /** `machine.install.extraKernelArgs`. */
  readonly extraKernelArgs?: readonly string[];
  /** Scratch space for the filesystem images (sparse files; BOOT's holds the slot's ~150 MB). */
  readonly workDir: string;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
  /** GUID source (tests). */
  readonly newGuid?: () => string;
}

/** What {@link installToDisk} did. */
export interface InstallResult {
  /** False when the disk already held a Talos install and `wipe` was not asked. */
  readonly installed: boolean;
  readonly layout: GptLayout;
  /** The install's phases with their durations, in order. */
  readonly phases: ReadonlyArray<{ readonly name: string; readonly ms: number }>;
}

/**
 * Decides what an install does with a disk: nothing when it already holds a Talos install (unless
 * wiped), otherwise upstream's layout for its size, or an error when it is too small.
 */
export function planInstall(options: { diskSizeBytes: number; current?: GptLayout; wipe?: boolean; newGuid?: () => string }): { value: { install: false; layout: GptLayout } | { install: true; layout: GptLayout } } | { error: string } {
  if (options.current && isTalosLayout(options.current) && !options.wipe) return { value: { install: false, layout: options.current } };
  const r = talosLayout({ diskSizeBytes: options.diskSizeBytes, ...(options.newGuid ? { newGuid: options.newGuid } : {}) });
  return 'error' in r ? r : { value: { install: true, layout: r.value } };
}

const bytesOf = (p: GptPartition): number => (p.lastLba - p.firstLba + 1) * SECTOR_BYTES;

function part(layout: GptLayout, label: PartitionLabelName): GptPartition {
  const p = partitionByLabel(layout, label);
  if (!p) throw new TalosError(Code.Internal, `layout has no ${label} partition`);
  return p;
}

/**
 * Installs Talos on a disk as upstream's installer lays it out, without mounting anything (so it
 * works before the kernel re-reads the new table): the GPT and GRUB for BIOS; BOOT as XFS with
 * grub.cfg, grubenv (slot A) and slot A's kernel, initramfs and root; STATE as XFS holding the
 * config; META and EPHEMERAL cleared so the first boot from disk formats EPHEMERAL.
 */
export function installToDisk(options: InstallOptions): InstallResult {
  const log = options.logger;
  const phases: Array<{ name: string; ms: number }> = [];
  const phase = <T>(name: string, fn: () => T): T => {
    options.signal?.throwIfAborted();
    const t0 = Date.now();
    log?.info('install phase', { phase: name, number: phases.length + 1 });
    const r = fn();
    phases.push({ name, ms: Date.now() - t0 });
    return r;
  };
  const plan = phase('verifyDisk', () => {
    const current = readGpt(options.disk);
    const p = planInstall({ diskSizeBytes: options.diskSizeBytes, ...('value' in current ? { current: current.value } : {}), ...(options.wipe ? { wipe: true } : {}), ...(options.newGuid ? { newGuid: options.newGuid } : {}) });
    if ('error' in p) throw new TalosError(Code.FailedPrecondition, `${options.disk}: ${p.error}`);
    return p.value;
  });
  if (!plan.install) {
    log?.info('disk already holds a Talos install; nothing written (machine.install.wipe forces it)', { disk: options.disk });
    return { installed: false, layout: plan.layout, phases };
  }
  const { layout } = plan;
  const { assets } = options;
  rmSync(options.workDir, { recursive: true, force: true });
  mkdirSync(options.workDir, { recursive: true });
  try {
    phase('partition', () => {
      // Old filesystem signatures would make the first boot keep a stale STATE or EPHEMERAL.
      const clear = (['META', 'STATE', 'EPHEMERAL'] as const).map((l) => ({ offsetBytes: part(layout, l).firstLba * SECTOR_BYTES, bytes: Buffer.alloc(1 << 20) }));
      writeChunks(options.disk, [...clear, ...bootloaderWrites({ layout, bootImg: readFileSync(assets.bootImg), coreImg: readFileSync(assets.coreImg) })]);
    });
    phase('bootloader', () => {
      const cmdline = [...INSTALL_KERNEL_ARGS, ...(options.extraKernelArgs ?? [])];
      const cfg = join(options.workDir, 'grub.cfg');
      const env = join(options.workDir, 'grubenv');
      writeFileSync(cfg, grubConfig({ cmdline: { A: cmdline, B: cmdline } }));
      writeFileSync(env, encodeGrubEnv(bootChoiceEnv({ defaultSlot: 'A' })));
      const a = slotFiles('A');
      const boot = part(layout, 'BOOT');
      const image = join(options.workDir, 'boot.xfs');
      makeXfsImage(image, {
        sizeBytes: bytesOf(boot),
        label: 'BOOT',
        files: [[a.kernel, assets.kernel], [a.initramfs, assets.initramfs], [a.rootfs, assets.rootfsCpio], ['/grub/grub.cfg', cfg], ['/grub/grubenv', env]],
      });
      copyImageInto(options.disk, image, boot.firstLba * SECTOR_BYTES, { maxBytes: bytesOf(boot), ...(options.signal ? { signal: options.signal } : {}) });
      rmSync(image, { force: true });
    });
    phase('state', () => {
      const state = part(layout, 'STATE');
      const config = join(options.workDir, 'config.yaml');
      writeFileSync(config, options.configYaml, { mode: 0o600 });
      const image = join(options.workDir, 'state.xfs');
      makeXfsImage(image, { sizeBytes: bytesOf(state), label: 'STATE', files: [['/config.yaml', config, 0o600]] });
      copyImageInto(options.disk, image, state.firstLba * SECTOR_BYTES, { maxBytes: bytesOf(state), ...(options.signal ? { signal: options.signal } : {}) });
    });
  } finally {
    rmSync(options.workDir, { recursive: true, force: true });
  }
  log?.info('installed', { disk: options.disk, phases });
  return { installed: true, layout, phases };
}

/** An installer fetched and verified: its files on this host, and what its signed manifest says. */
export interface FetchedInstaller extends InstallAssets {
  readonly version: string;
  /** Kernel arguments the image was built with (its slot boots with them). */
  readonly extraKernelArgs: readonly string[];
}

/** Options of {@link fetchInstallAssets}. */
export interface FetchInstallerOptions {
  /** The public key (PEM) the running image trusts; without one nothing is fetched beyond the manifest. */
  readonly trustedKeyPem: string | undefined;
  readonly signal?: AbortSignal;
  /** Tries per file when the connection fails (default 3). */
  readonly attempts?: number;
  /** `machine.registries.mirrors`, for an image reference. */
  readonly mirrors?: RegistryMirrors;
  /** The node's system containerd socket: an image reference is pulled through its content store. */
  readonly containerdSocket?: string;
  readonly logger?: Logger;
}

/**
 * Fetches the installer files into dir: `image` is an installer OCI image reference (pulled from
 * its registry, see pullInstallAssets; `mirrors` is `machine.registries.mirrors`) or the http(s)
 * URL of an image directory. The manifest and its signature come first, checked against the key
 * the running image trusts (PermissionDenied when another key signed it), then each file, checked
 * for size and SHA-256 against the manifest.
 */
export async function fetchInstallAssets(imageUrl: string, dir: string, options: FetchInstallerOptions): Promise<FetchedInstaller> {
  const { signal } = options;
  if (looksLikeImageReference(imageUrl)) {
    // The pull checks every digest; what is left is whether the running image trusts its signer,
    // checked before the pull keeps anything (a refused image leaves no record in containerd).
    let manifest: ReturnType<typeof verifyTrustedManifest> | undefined;
    const accept = (got: string): void => {
      let manifestBytes: Buffer;
      let signature: string;
      try {
        manifestBytes = readFileSync(join(got, InstallerFiles.manifest));
        signature = readFileSync(join(got, IMAGE_SIGNATURE_FILE), 'utf8');
      } catch {
        throw new TalosError(Code.PermissionDenied, `install image ${imageUrl}: the installer carries no ${IMAGE_SIGNATURE_FILE}`);
      }
      manifest = verifyTrustedManifest({ manifestBytes, signature, trustedKeyPem: options.trustedKeyPem, source: `install image ${imageUrl}` });
    };
    const files = await pullInstallAssets(imageUrl, dir, {
      accept,
      ...(options.mirrors ? { mirrors: options.mirrors } : {}),
      ...(options.containerdSocket !== undefined ? { containerdSocket: options.containerdSocket } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(signal ? { signal } : {}),
    });
    if (!manifest) throw new TalosError(Code.Internal, `install image ${imageUrl}: the pull returned without the signature check`);
    return { ...(files as unknown as InstallAssets), version: manifest.version ?? '', extraKernelArgs: manifest.extraKernelArgs ?? [] };
  }
  const base = imageUrl.endsWith('/') ? imageUrl : `${imageUrl}/`;
  // A dropped connection (a large file through a slow or busy network) is tried again a few times;
  // an HTTP answer is not: 404 means the image is not there.
  const attempts = options.attempts ?? 3;
  const get = async (name: string): Promise<Buffer> => {
    for (let attempt = 1; ; attempt++) {
      let res: Response;
      try {
        res = await fetch(new URL(name, base), signal ? { signal } : {});
      } catch (err) {
        if (attempt < attempts && !signal?.aborted) {
          await new Promise((r) => setTimeout(r, 1000 * attempt));
          continue;
        }
        throw new TalosError(Code.Unavailable, `install image ${base}${name}: ${(err as Error).message}`, { cause: err });
      }
      if (!res.ok) throw new TalosError(res.status === 404 ? Code.NotFound : Code.Unavailable, `install image ${base}${name}: HTTP ${res.status}`);
      try {
        return Buffer.from(await res.arrayBuffer());
      } catch (err) {
        if (attempt < attempts && !signal?.aborted) continue;
        throw new TalosError(Code.Unavailable, `install image ${base}${name}: ${(err as Error).message}`, { cause: err });
      }
    }
  };
  const manifestBytes = await get(InstallerFiles.manifest);
  const signature = (await get(IMAGE_SIGNATURE_FILE)).toString('utf8');
  const manifest = verifyTrustedManifest({ manifestBytes, signature, trustedKeyPem: options.trustedKeyPem, source: `install image ${base}` });
  mkdirSync(dir, { recursive: true });
  const out: Record<string, string> = {};
  for (const [role, name] of Object.entries(InstallerFiles)) {
    if (role === 'manifest') continue;
    const want = manifest.artifacts?.[name];
    if (!want) throw new TalosError(Code.InvalidArgument, `install image ${base}: the manifest lists no ${name}`);
    const bytes = await get(name);
    const sum = createHash('sha256').update(bytes).digest('hex');
    if (bytes.length !== want.sizeBytes || sum !== want.sha256) throw new TalosError(Code.DataLoss, `install image ${base}${name}: sha256 ${sum} does not match the manifest's ${want.sha256}`);
    writeFileSync(join(dir, name), bytes);
    out[role] = join(dir, name);
  }
  return { ...(out as unknown as InstallAssets), version: manifest.version ?? '', extraKernelArgs: manifest.extraKernelArgs ?? [] };
}

/** Options of {@link installFromConfig}. */
export interface InstallFromConfigOptions {
  /** `machine.install`. */
  readonly install: { readonly disk?: string; readonly image?: string; readonly wipe?: boolean; readonly extraKernelArgs?: readonly string[] };
  readonly configYaml: string;
  /** `machine.registries.mirrors`, for an installer image reference. */
  readonly mirrors?: RegistryMirrors;
  /** The node's system containerd socket (see {@link fetchInstallAssets}). */
  readonly containerdSocket?: string;
  /** Scratch space (assets and filesystem images), removed afterwards. */
  readonly workDir: string;
  /** The size of the disk in bytes (the node reads sysfs). */
  readonly diskSizeBytes: (disk: string) => number;
  /** The public key the running image trusts for installers (see {@link fetchInstallAssets}). */
  readonly trustedKeyPem: string | undefined;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/**
 * The install step of a boot from a live image: with `machine.install.disk` set, fetches the
 * installer from `machine.install.image` and installs (see {@link installToDisk}). Returns
 * undefined when the config asks for no install.
 */
export async function installFromConfig(options: InstallFromConfigOptions): Promise<InstallResult | undefined> {
  const { install } = options;
  if (!install.disk) return undefined;
  if (!existsSync(install.disk)) throw new TalosError(Code.NotFound, `machine.install.disk: ${install.disk}: no such disk`);
  if (!install.image) throw new TalosError(Code.InvalidArgument, 'machine.install.image: missing, need an installer image reference (or the http(s) URL of an image directory)');
  if (looksLikeImageReference(install.image)) parseImageReference(install.image);
  else if (!/^https?:\/\//i.test(install.image)) throw new TalosError(Code.InvalidArgument, `machine.install.image: ${install.image}: only http(s) URLs and image references are supported`);
  try {
    const current = readGpt(install.disk);
    if ('value' in current && isTalosLayout(current.value) && !install.wipe) {
      options.logger?.info('disk already holds a Talos install; not installing', { disk: install.disk });
      return { installed: false, layout: current.value, phases: [] };
    }
    // A disk that cannot hold upstream's layout is refused before the installer is downloaded.
    const diskSizeBytes = options.diskSizeBytes(install.disk);
    const plan = planInstall({ diskSizeBytes });
    if ('error' in plan) throw new TalosError(Code.FailedPrecondition, `machine.install.disk: ${install.disk}: ${plan.error}; nothing fetched or written`);
    const assets = await fetchInstallAssets(install.image, join(options.workDir, 'assets'), {
      trustedKeyPem: options.trustedKeyPem,
      ...(options.mirrors ? { mirrors: options.mirrors } : {}),
      ...(options.containerdSocket !== undefined ? { containerdSocket: options.containerdSocket } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const extraKernelArgs = [...assets.extraKernelArgs, ...(install.extraKernelArgs ?? []).filter((a) => !assets.extraKernelArgs.includes(a))];
    return installToDisk({
      disk: install.disk,
      diskSizeBytes,
      assets,
      configYaml: options.configYaml,
      workDir: join(options.workDir, 'fs'),
      ...(install.wipe ? { wipe: true } : {}),
      ...(extraKernelArgs.length > 0 ? { extraKernelArgs } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    rmSync(options.workDir, { recursive: true, force: true });
  }
}
