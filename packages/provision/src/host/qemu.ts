// Starting a node's VM: its launcher (which runs QEMU) inside the cluster namespace, its NIC a tap
// device on the bridge, its console appended to the node's log file. Detached like the process back
// end's nodes.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Code, TalosError } from '@talos-ts/cosi';
import { spawnInNetns } from './processes.ts';
import type { VmLaunchConfig } from './vm-launcher.ts';

/** The files of a built image the VM boots from (as the imager names them). */
export const IMAGE_FILES = { kernel: 'vmlinuz', initramfs: 'initramfs.img', rootfs: 'rootfs.sqsh' } as const;

/**
 * Fails with the install command when QEMU is not on PATH: a machine set up for the process back
 * end (`npm run cluster`) has no QEMU, and the VMs would otherwise die one by one in their logs.
 */
export function requireQemu(path = process.env['PATH'] ?? ''): void {
  const found = path.split(delimiter).some((dir) => dir !== '' && existsSync(join(dir, 'qemu-system-x86_64')));
  if (!found) {
    throw new TalosError(Code.FailedPrecondition, 'qemu-system-x86_64 is not installed: install QEMU and the image tools with: sudo bash scripts/ensure-deps.sh qemu');
  }
}

/** Fails with one line naming what is missing when dir is not a built image. */
export function checkImageDir(dir: string): void {
  const missing = Object.values(IMAGE_FILES).filter((f) => !existsSync(join(dir, f)));
  if (missing.length > 0) {
    throw new TalosError(Code.FailedPrecondition, `${dir} is not a built image (missing ${missing.join(', ')}): build one with talos-imager build --out DIR`);
  }
}

/** The clean git revision of a checkout; undefined when it has uncommitted changes (or no git). */
function checkoutRevision(root: string): string | undefined {
  const rev = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: root, encoding: 'utf8' });
  const status = spawnSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' });
  if (rev.status !== 0 || status.status !== 0 || status.stdout.trim() !== '') return undefined;
  return rev.stdout.trim();
}

/** The revision an image was built from (its manifest's gitRevision), if readable. */
function builtRevision(dir: string): string | undefined {
  try {
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { gitRevision?: unknown };
    return typeof m.gitRevision === 'string' ? m.gitRevision : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The image a qemu cluster boots when none is given: this checkout's `_out/talos-ts-<tag>-fast`,
 * reused when it is complete and was built from this very (clean) revision, else built by running the imager program (started by path: the
 * provisioner does not import the imager package). Returns the image directory.
 */
export async function ensureDefaultImage(tag: string, progress: (line: string) => void, signal?: AbortSignal): Promise<string> {
  // From the sources (packages/provision/src/host) or from the talosctl bundle (dist/).
  const roots = [new URL('../../../../', import.meta.url), new URL('../', import.meta.url)].map((u) => fileURLToPath(u));
  const root = roots.find((r) => existsSync(join(r, 'packages', 'imager', 'bin', 'talos-imager.js')));
  if (!root) throw new TalosError(Code.FailedPrecondition, 'no image given and no Talos-TS checkout to build one from: pass --image-dir DIR');
  const dir = join(root, '_out', `talos-ts-${tag.replace(/^v/, '')}-fast`);
  if (Object.values(IMAGE_FILES).every((f) => existsSync(join(dir, f)))) {
    const built = builtRevision(dir);
    if (built !== undefined && built === checkoutRevision(root)) {
      progress(`using image ${dir} (revision ${built.slice(0, 12)})`);
      return dir;
    }
    progress(`image ${dir} is from ${built ?? 'an unknown revision'}, not this checkout: rebuilding`);
  }
  progress(`building image ${dir} (talos-imager build --compression fast)`);
  const child = spawn(process.execPath, [join(root, 'packages', 'imager', 'bin', 'talos-imager.js'), 'build', '--compression', 'fast', '--out', join(root, '_out')], {
    stdio: ['ignore', 'ignore', 'pipe'],
    ...(signal ? { signal } : {}),
  });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr = (stderr + b.toString()).slice(-4000)));
  const code = await new Promise<number | null>((resolve) => {
    child.once('exit', (c) => resolve(c));
    child.once('error', () => resolve(-1));
  });
  if (code !== 0) throw new TalosError(Code.Internal, `building the image failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' / ')}`);
  checkImageDir(dir);
  return dir;
}

/** Options of {@link spawnVm}. */
export interface SpawnVmOptions {
  readonly netns: string;
  readonly imageDir: string;
  /** The tap device (already on the bridge) the VM's NIC uses. */
  readonly tap: string;
  readonly mac: string;
  /** The install disk (raw file): the VM's first virtio disk, /dev/vda. */
  readonly diskFile: string;
  /** Kernel arguments of a live boot. */
  readonly kernelArgs: readonly string[];
  readonly logFile: string;
  readonly memoryMiB: number;
  readonly cpus: number;
  /** The node's directory: the launcher's config and QEMU's QMP socket go there. */
  readonly nodeDir: string;
}

/**
 * Starts the node's VM launcher (see vm-launcher.ts) inside the cluster namespace: it runs QEMU,
 * and again after every guest reset, booting the install disk once an install wrote it. The pid
 * is the launcher's; SIGTERM to it stops QEMU too. KVM only when asked for (TALOS_QEMU_ACCEL), as
 * on these machines it is present but fails at run time.
 */
export function spawnVm(options: SpawnVmOptions): ChildProcess {
  const config: VmLaunchConfig = {
    imageDir: options.imageDir,
    tap: options.tap,
    mac: options.mac,
    diskFile: options.diskFile,
    kernelArgs: options.kernelArgs,
    memoryMiB: options.memoryMiB,
    cpus: options.cpus,
    qmpSocket: join(options.nodeDir, 'qmp.sock'),
  };
  const configFile = join(options.nodeDir, 'vm.json');
  writeFileSync(configFile, `${JSON.stringify(config, null, 2)}\n`, { mode: 0o600 });
  return spawnInNetns({ netns: options.netns, program: 'talos-vm-launcher', args: ['--config', configFile], logFile: options.logFile });
}
