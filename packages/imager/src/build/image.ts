import { generateKey, privateKeyFromPem, TRUSTED_IMAGE_KEY_PATH } from '@talos-ts/machinery';
import type { Logger } from '@talos-ts/cosi';
import { createPublicKey } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { writeCpio, type CpioEntry } from '../cpio.ts';
import {
  ArtifactName, encodeManifest, KERNEL_ELF, MANIFEST_FILE, PUBLIC_KEY_FILE, sha256, sha256File, SIGNATURE_FILE, signManifest,
  type CompressionPreset, type ImageManifest,
} from '../manifest.ts';
import { filterDepmod, INITRAMFS_MODULE_NAMES, moduleClosure, moduleLoadOrder, NODE_MODULE_NAMES, type DepmodFiles } from '../modules.ts';
import { forbiddenPaths } from '../policy.ts';
import { buildDiskImage, buildInstallerAssets, DISK_IMAGE, InstallerAsset } from './disk.ts';
import { writeInstallerImage } from './installer.ts';
import { findIcuPackage, trimIcuPackage } from './icu.ts';
import { extractVmlinux } from './kernel.ts';
import { programLoader } from './loader.ts';
import { requireHostTools } from './host-tools.ts';
import { run, runStatus, sharedLibraries } from './run.ts';

/** Host programs copied into the root with their libraries: [host path, image path]. */
const HOST_PROGRAMS: ReadonlyArray<readonly [string, string]> = [
  ['/usr/bin/etcd', '/usr/bin/etcd'],
  ['/usr/bin/containerd', '/usr/bin/containerd'],
  ['/usr/bin/containerd-shim-runc-v2', '/usr/bin/containerd-shim-runc-v2'],
  ['/usr/sbin/runc', '/usr/bin/runc'],
  // Formats STATE and EPHEMERAL on the first boot from disk (upstream ships xfsprogs' mkfs too).
  ['/usr/sbin/mkfs.xfs', '/usr/sbin/mkfs.xfs'],
];

/** Our bundles shipped in the root (dist/<name>.mjs → /usr/lib/talos). */
const BUNDLES = ['machined', 'apid', 'trustd'];

/** Options of {@link buildImage}. */
export interface BuildImageOptions {
  /** The checkout to build from. */
  readonly repoRoot: string;
  /** Where the image directory is created (default <repoRoot>/_out). */
  readonly outDir?: string;
  readonly compression?: CompressionPreset;
  /** An Ed25519 private key PEM; without it a throwaway key is generated (test images). */
  readonly signingKeyPem?: string;
  /**
   * Node/V8 flags the image starts its programs with (/usr/lib/talos/node.flags, read by /init;
   * machined passes them on). The code caches are written under the same flags. Default: none.
   */
  readonly nodeFlags?: readonly string[];
  /**
   * Also writes disk.raw, a bootable disk (GRUB for BIOS, slot A populated). Default true; the
   * installer assets (boot.img, core.img, rootfs.cpio) are made either way.
   */
  readonly disk?: boolean;
  /**
   * Kernel arguments of the image's boot entries (upstream's `--extra-kernel-arg`): in disk.raw's
   * grub.cfg, and in the manifest, so an upgrade to this image boots its slot with them.
   */
  readonly extraKernelArgs?: readonly string[];
  /**
   * The release this image is (upstream's `--version`): the bundles are rebuilt with this tag
   * (what `talosctl version` and the Version resource report) and the directory and manifest
   * carry it. Default: package.json's version, with the checkout's bundles.
   */
  readonly version?: string;
  /** Skips `npm run build` and the addon build when both are already there. */
  readonly reuseBuild?: boolean;
  readonly logger?: Logger;
  readonly signal?: AbortSignal;
}

/** What {@link buildImage} produced. */
export interface BuiltImage {
  readonly dir: string;
  readonly manifest: ImageManifest;
  readonly timingsMs: Readonly<Record<string, number>>;
  /** The generated private key when none was given (PEM), so tests can re-sign. */
  readonly generatedKeyPem?: string;
}

function copyInto(root: string, hostPath: string, imagePath = hostPath, mode?: number): void {
  const dest = join(root, imagePath);
  mkdirSync(dirname(dest), { recursive: true });
  copyFileSync(hostPath, dest);
  chmodSync(dest, mode ?? statSync(hostPath).mode & 0o777);
}

function walkFiles(root: string, dir = root, out: string[] = []): string[] {
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, name.name);
    if (name.isDirectory()) walkFiles(root, p, out);
    else if (name.isFile()) out.push(`/${relative(root, p)}`);
  }
  return out;
}

function kernelRelease(): string {
  const kernels = readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-')).sort();
  const last = kernels.at(-1);
  if (!last) throw new Error('no kernel in /boot: install linux-image-amd64 (sudo bash scripts/ensure-deps.sh image)');
  return last.slice('vmlinuz-'.length);
}

function readDepmod(modDir: string): DepmodFiles {
  const read = (n: string): string => (existsSync(join(modDir, n)) ? readFileSync(join(modDir, n), 'utf8') : '');
  return { dep: read('modules.dep'), softdep: read('modules.softdep'), alias: read('modules.alias') };
}

/** Copies modules and rewritten depmod files into an image tree; returns the paths copied. */
function addModules(root: string, release: string, names: readonly string[]): string[] {
  const modDir = join('/lib/modules', release);
  const depmod = readDepmod(modDir);
  const { paths, missing } = moduleClosure(depmod, names);
  if (missing.length > 0 && missing.length === names.length) throw new Error(`no modules found for ${missing.join(', ')}`);
  for (const p of paths) copyInto(root, join(modDir, p), join('/lib/modules', release, p));
  const filtered = filterDepmod(depmod, paths);
  const out = join(root, 'lib/modules', release);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, 'modules.dep'), filtered.dep);
  writeFileSync(join(out, 'modules.softdep'), filtered.softdep);
  writeFileSync(join(out, 'modules.alias'), filtered.alias);
  copyFileSync(join(modDir, 'modules.builtin'), join(out, 'modules.builtin'));
  return paths;
}

async function addProgram(root: string, hostPath: string, imagePath: string, options: { strip?: boolean; trimIcu?: boolean; logger?: Logger } = {}): Promise<void> {
  copyInto(root, hostPath, imagePath);
  // Distribution builds of Node keep symbols and debug info (~12 MB); .dynsym, which addons link against, stays.
  if (options.strip) await run('strip', ['--strip-all', join(root, imagePath)]);
  if (options.trimIcu) await trimEmbeddedIcu(join(root, imagePath), hostPath, options.logger);
  for (const lib of await sharedLibraries(hostPath)) if (!existsSync(join(root, lib))) copyInto(root, lib);
}

/** Rewrites the ICU data embedded in a Node binary to English only (see icu.ts); a Node without it is left alone. */
async function trimEmbeddedIcu(program: string, symbolsOf: string, logger?: Logger): Promise<void> {
  const bytes = readFileSync(program);
  const where = await findIcuPackage(bytes, symbolsOf);
  if (!where) {
    logger?.warn('no embedded ICU data found in Node; image keeps it as is', { program: symbolsOf });
    return;
  }
  const pkg = bytes.subarray(where.offset, where.offset + where.sizeBytes);
  const { data, kept, usedBytes } = trimIcuPackage(pkg);
  data.copy(bytes, where.offset);
  writeFileSync(program, bytes);
  logger?.info('trimmed Node\'s ICU data', { items: kept, bytes: usedBytes, of: where.sizeBytes });
}

/** Lays out the SquashFS root: Node, our bundles, the addon, etcd/containerd/runc, modules, empty mount points. */
async function stageRootfs(root: string, repoRoot: string, release: string, options: { distDir: string; publicKeyPem: string; logger?: Logger }): Promise<void> {
  const { logger } = options;
  await addProgram(root, process.execPath, '/usr/bin/node', { strip: true, trimIcu: true, ...(logger ? { logger } : {}) });
  for (const [host, image] of HOST_PROGRAMS) {
    if (existsSync(host)) await addProgram(root, host, image);
    else logger?.warn('program not installed; image built without it', { program: host });
  }
  for (const b of BUNDLES) {
    copyInto(root, join(options.distDir, `${b}.cjs`), `/usr/lib/talos/${b}.bundle.cjs`, 0o644);
    writeFileSync(join(root, 'usr/lib/talos', `${b}.cjs`), programLoader(b), { mode: 0o644 });
  }
  copyInto(root, join(repoRoot, 'packages/machined/src/linux/native/build/Release/talos_native.node'), '/usr/lib/talos/talos_native.node', 0o755);
  addModules(root, release, NODE_MODULE_NAMES);
  for (const d of ['dev', 'proc', 'sys', 'system', 'var', 'run', 'tmp', 'boot', 'etc/kubernetes', 'etc/cni', 'opt/cni/bin', 'usr/local', 'root']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  // Mount points for the files machined writes under /system/etc and binds over these.
  writeFileSync(join(root, 'etc/hosts'), '');
  writeFileSync(join(root, 'etc/resolv.conf'), '');
  writeFileSync(join(root, 'etc/os-release'), 'NAME="Talos-TS"\nID=talos-ts\nPRETTY_NAME="Talos-TS"\n');
  // The key this image trusts for the installers it upgrades to: its own signer's.
  mkdirSync(dirname(join(root, TRUSTED_IMAGE_KEY_PATH)), { recursive: true });
  writeFileSync(join(root, TRUSTED_IMAGE_KEY_PATH), options.publicKeyPem, { mode: 0o644 });
}

/**
 * Runs each bundled program of the root once with the Node that the image ships, so its
 * loader writes the V8 code cache of everything compiled while the program loaded. `--help` keeps
 * it from doing anything; the exit status does not matter, the cache file does.
 */
async function writeCodeCaches(root: string, nodeFlags: readonly string[]): Promise<void> {
  writeFileSync(join(root, 'usr/lib/talos/node.flags'), `${nodeFlags.join(',')}\n`);
  for (const b of BUNDLES) {
    const start = join(root, 'usr/lib/talos', `${b}.cjs`);
    await runStatus(join(root, 'usr/bin/node'), [...nodeFlags, start, '--help'], { env: { ...process.env, TALOS_WRITE_CODE_CACHE: '1', NO_COLOR: '1' } });
    if (!existsSync(join(root, 'usr/lib/talos', `${b}.bundle.cjs.cache`))) throw new Error(`${b}: no code cache written`);
  }
}

/**
 * The initramfs: /init (machined's static early-boot program, dist/init), the modules it needs to
 * reach the SquashFS root and their load order. No Node: it starts once, from the root.
 */
function initramfsEntries(staging: string, repoRoot: string, release: string): CpioEntry[] {
  const modDir = join('/lib/modules', release);
  const order = moduleLoadOrder(readDepmod(modDir), INITRAMFS_MODULE_NAMES);
  if (order.length === 0) throw new Error(`no modules found for ${INITRAMFS_MODULE_NAMES.join(', ')}`);
  for (const p of order) copyInto(staging, join(modDir, p), join('/lib/modules', release, p), 0o644);
  mkdirSync(join(staging, 'lib/modules'), { recursive: true });
  writeFileSync(join(staging, 'lib/modules/init.order'), order.map((p) => `${join('/lib/modules', release, p)}\n`).join(''));
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>(['/dev', '/proc', '/sys', '/root']);
  const files = walkFiles(staging).sort();
  for (const f of files) for (let d = dirname(f); d !== '/'; d = dirname(d)) dirs.add(d);
  for (const d of [...dirs].sort()) entries.push({ kind: 'dir', path: d });
  entries.push({ kind: 'char', path: '/dev/console', major: 5, minor: 1, mode: 0o600 });
  entries.push({ kind: 'file', path: '/init', data: readFileSync(join(repoRoot, 'dist', 'init')), mode: 0o755 });
  for (const f of files) entries.push({ kind: 'file', path: f, data: readFileSync(join(staging, f)), mode: statSync(join(staging, f)).mode & 0o777 });
  return entries;
}

const ROOTFS_COMPRESSION: Record<CompressionPreset, string[]> = {
  fast: ['-comp', 'zstd', '-Xcompression-level', '3'],
  small: ['-comp', 'xz', '-Xbcj', 'x86', '-b', '1M'],
};

async function compressInitramfs(cpio: string, out: string, preset: CompressionPreset): Promise<string> {
  // The kernel reads only lz4's legacy frame format (-l); zstd and lz4 both unpack fast under TCG.
  if (preset === 'fast') await run('lz4', ['-l', '-q', '-f', '-1', cpio, out]);
  else await run('zstd', ['-q', '-f', '-19', '-T0', cpio, '-o', out]);
  return preset === 'fast' ? 'lz4-legacy' : 'zstd-19';
}

/** The git revision of the checkout (with `-dirty` when it has changes), or "unknown". */
async function gitRevision(repoRoot: string): Promise<string> {
  try {
    const rev = (await run('git', ['rev-parse', 'HEAD'], { cwd: repoRoot })).trim();
    const dirty = (await run('git', ['status', '--porcelain'], { cwd: repoRoot })).trim() !== '';
    return dirty ? `${rev}-dirty` : rev;
  } catch {
    return 'unknown';
  }
}

/** Builds the program bundles and the native addon from the checkout. */
export async function buildPrograms(repoRoot: string, signal?: AbortSignal): Promise<void> {
  const opts = signal ? { cwd: repoRoot, signal } : { cwd: repoRoot };
  await run(process.execPath, [join(repoRoot, 'scripts/build.mjs')], opts);
  await run('bash', [join(repoRoot, 'scripts/build-native.sh')], opts);
}

/**
 * Builds a versioned, signed image: kernel, initramfs and SquashFS root under
 * `<outDir>/talos-ts-<version>-<preset>/`, with manifest.json, manifest.sig and signing-key.pub, and
 * installer/, the installer as an OCI image layout.
 */
export async function buildImage(options: BuildImageOptions): Promise<BuiltImage> {
  const { repoRoot, logger } = options;
  const preset = options.compression ?? 'fast';
  const timings: Record<string, number> = {};
  const step = async <T>(name: string, fn: () => Promise<T> | T): Promise<T> => {
    options.signal?.throwIfAborted();
    const t0 = Date.now();
    const r = await fn();
    timings[name] = Date.now() - t0;
    logger?.info('image step done', { step: name, ms: timings[name] });
    return r;
  };
  requireHostTools();
  const version = options.version?.replace(/^v/, '') ?? (JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
  const outDir = options.outDir ?? join(repoRoot, '_out');
  const dir = join(outDir, `talos-ts-${version}-${preset}`);
  const work = join(outDir, `.work-${process.pid}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const addon = join(repoRoot, 'packages/machined/src/linux/native/build/Release/talos_native.node');
    const haveBuild = existsSync(join(repoRoot, 'dist/machined.cjs')) && existsSync(join(repoRoot, 'dist/init')) && existsSync(addon);
    if (!options.reuseBuild || !haveBuild) await step('programs', () => buildPrograms(repoRoot, options.signal));
    // Another release tag means other bundles: only the node's programs are rebuilt, beside the work files.
    const distDir = options.version ? join(work, 'dist') : join(repoRoot, 'dist');
    if (options.version) {
      const tag = `v${version}`;
      await step('programs-tagged', () =>
        run(process.execPath, [join(repoRoot, 'scripts/build.mjs'), ...BUNDLES], { cwd: repoRoot, env: { ...process.env, TALOS_TS_TAG: tag, TALOS_TS_DIST: distDir }, ...(options.signal ? { signal: options.signal } : {}) }),
      );
    }
    const release = kernelRelease();

    let generatedKeyPem: string | undefined;
    const privateKey = options.signingKeyPem
      ? privateKeyFromPem(options.signingKeyPem).privateKey
      : await generateKey('ed25519').then((k) => {
          generatedKeyPem = k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
          return k.privateKey;
        });
    if (privateKey.asymmetricKeyType !== 'ed25519') throw new Error('the signing key must be Ed25519');
    const publicKeyPem = createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString();

    const rootfs = join(work, 'rootfs');
    await step('stage-rootfs', () => stageRootfs(rootfs, repoRoot, release, { distDir, publicKeyPem, ...(logger ? { logger } : {}) }));
    await step('code-cache', () => writeCodeCaches(rootfs, options.nodeFlags ?? []));
    const rootfsFiles = walkFiles(rootfs).sort();
    const bad = forbiddenPaths(rootfsFiles);
    if (bad.length > 0) throw new Error(`image would contain forbidden programs: ${bad.join(', ')}`);
    const rootfsDigests: Record<string, string> = {};
    for (const f of rootfsFiles) rootfsDigests[f] = sha256(readFileSync(join(rootfs, f)));
    await step('squashfs', () =>
      run('mksquashfs', [rootfs, join(dir, ArtifactName.rootfs), '-noappend', '-all-root', '-no-progress', '-quiet', '-mkfs-time', '0', '-all-time', '0', '-processors', '2', ...ROOTFS_COMPRESSION[preset]]),
    );

    const initStaging = join(work, 'initramfs');
    const entries = await step('stage-initramfs', () => initramfsEntries(initStaging, repoRoot, release));
    const initramfsDigests: Record<string, string> = {};
    for (const e of entries) if (e.kind === 'file') initramfsDigests[e.path] = sha256(e.data);
    const cpio = join(work, 'initramfs.cpio');
    writeFileSync(cpio, writeCpio(entries));
    const initramfsCompression = await step('initramfs', () => compressInitramfs(cpio, join(dir, ArtifactName.initramfs), preset));

    copyFileSync(join('/boot', `vmlinuz-${release}`), join(dir, ArtifactName.kernel));
    const elf = preset === 'fast' && (await step('vmlinux', () => extractVmlinux(join('/boot', `vmlinuz-${release}`), join(dir, KERNEL_ELF))));

    await step('installer-assets', () => buildInstallerAssets(dir, options.signal));
    const artifacts: Record<string, { sizeBytes: number; sha256: string }> = {};
    for (const name of [...Object.values(ArtifactName), ...Object.values(InstallerAsset), ...(elf ? [KERNEL_ELF] : [])]) {
      artifacts[name] = { sizeBytes: statSync(join(dir, name)).size, sha256: await sha256File(join(dir, name)) };
    }
    const manifest: ImageManifest = {
      schema: 1,
      version,
      gitRevision: await gitRevision(repoRoot),
      kernelRelease: release,
      compression: { preset, rootfs: preset === 'fast' ? 'zstd-3' : 'xz', initramfs: initramfsCompression },
      ...(options.extraKernelArgs && options.extraKernelArgs.length > 0 ? { extraKernelArgs: [...options.extraKernelArgs] } : {}),
      artifacts,
      rootfsFiles: rootfsDigests,
      initramfsFiles: initramfsDigests,
    };
    const bytes = encodeManifest(manifest);
    writeFileSync(join(dir, MANIFEST_FILE), bytes);
    writeFileSync(join(dir, SIGNATURE_FILE), `${signManifest(bytes, privateKey)}\n`);
    writeFileSync(join(dir, PUBLIC_KEY_FILE), publicKeyPem);
    await step('installer-image', () => writeInstallerImage(dir));
    // Not in the manifest: it is made of the signed artifacts, and hashing gigabytes of zeroes buys nothing.
    if (options.disk ?? true) {
      await step('disk', () =>
        buildDiskImage({
          imageDir: dir,
          outFile: join(dir, DISK_IMAGE),
          workDir: join(work, 'disk'),
          ...(options.extraKernelArgs ? { extraKernelArgs: options.extraKernelArgs } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        }),
      );
    }
    return { dir, manifest, timingsMs: timings, ...(generatedKeyPem ? { generatedKeyPem } : {}) };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** The paths inside a SquashFS image (unsquashfs -l), for policy checks. */
export async function listSquashfs(path: string): Promise<string[]> {
  const out = await run('unsquashfs', ['-l', '-d', '', path]);
  return out.split('\n').filter((l) => l.startsWith('/'));
}
