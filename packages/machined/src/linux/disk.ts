import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, ftruncateSync, mkdirSync, openSync, readdirSync, readFileSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { decodeGpt, GPT_PRIMARY_SECTORS, isTalosLayout, SECTOR_BYTES, xfsProto, type GptLayout } from '@talos-ts/machinery';
import { MountFlags, native } from './native.ts';
import { readMounts } from './mounts.ts';

/** Where mkfs.xfs is in the image (shipped from Debian's xfsprogs, as upstream ships it). */
export const MKFS_XFS = '/usr/sbin/mkfs.xfs';

/**
 * mkfs.xfs' environment. STATE is 100 MiB, below the 300 MB xfsprogs 5.19+ refuses by default;
 * these variables are xfsprogs' own switch for small (test) filesystems, the only one Debian 12's
 * version (6.1) has.
 */
const MKFS_ENV = { PATH: '/usr/sbin:/usr/bin', TEST_DIR: '1', TEST_DEV: '1', QA_CHECK_FS: '1' };

/** Whole disks the kernel knows (sysfs names such as vda, sda, nvme0n1): no partitions, loops, RAM or optical drives. */
export function listDisks(sysBlock = '/sys/block'): string[] {
  if (!existsSync(sysBlock)) return [];
  return readdirSync(sysBlock)
    .filter((n) => !/^(loop|ram|sr|zram|dm-|md)/.test(n))
    .sort();
}

/** The device path of partition `n` of a disk (`vda` → /dev/vda3, `nvme0n1` → /dev/nvme0n1p3). */
export function partitionDevice(disk: string, n: number): string {
  return `/dev/${disk}${/\d$/.test(disk) ? 'p' : ''}${n}`;
}

/** Reads the first `bytes` of a device or file. */
export function readHead(path: string, bytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    let got = 0;
    while (got < bytes) {
      const n = readSync(fd, buf, got, bytes - got, got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

/** The GPT of a disk, or why there is none. */
export function readGpt(path: string): { value: GptLayout } | { error: string } {
  try {
    return decodeGpt(readHead(path, GPT_PRIMARY_SECTORS * SECTOR_BYTES));
  } catch (err) {
    return { error: `${path}: ${(err as Error).message}` };
  }
}

/** The first disk holding a Talos install (upstream's labels in upstream's order), with its table. */
export function findTalosDisk(disks: readonly string[] = listDisks()): { disk: string; layout: GptLayout } | undefined {
  for (const disk of disks) {
    const r = readGpt(`/dev/${disk}`);
    if ('value' in r && isTalosLayout(r.value)) return { disk, layout: r.value };
  }
  return undefined;
}

/** True when the device starts with an XFS superblock. */
export function hasXfs(path: string): boolean {
  try {
    return readHead(path, 4).toString('latin1') === 'XFSB';
  } catch {
    return false;
  }
}

/** Options of {@link formatXfs}. */
export interface FormatXfsOptions {
  readonly label: string;
  readonly timeoutMs?: number;
  readonly mkfs?: string;
}

/**
 * Makes an XFS filesystem with mkfs.xfs, synchronously: it runs at boot before any service, or in
 * an install that holds the node anyway, and takes about a second.
 */
export function formatXfs(device: string, options: FormatXfsOptions): void {
  try {
    execFileSync(options.mkfs ?? MKFS_XFS, ['-f', '-q', '-L', options.label, device], {
      env: MKFS_ENV,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: options.timeoutMs ?? 120_000,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    throw new TalosError(Code.Internal, `mkfs.xfs ${device}: ${(stderr || (err as Error).message).split('\n').slice(0, 3).join('; ')}`, { cause: err });
  }
}

/** Mounts an XFS device on target (created if missing) unless something is already mounted there. */
export function mountXfs(device: string, target: string): boolean {
  mkdirSync(target, { recursive: true });
  if (readMounts().some((m) => m.target === target && m.source === device)) return false;
  native().mount(device, target, 'xfs', MountFlags.NOSUID | MountFlags.NODEV, null);
  return true;
}

/** Bind-mounts source on target (both created if missing) unless target is already a mount point. */
export function bindMount(source: string, target: string): boolean {
  mkdirSync(source, { recursive: true });
  mkdirSync(target, { recursive: true });
  if (readMounts().some((m) => m.target === target)) return false;
  native().mount(source, target, null, MountFlags.BIND);
  return true;
}

/** The kernel's size of a block device in bytes (from sysfs, in 512-byte units whatever the sector size). */
export function diskSizeBytes(disk: string, sysBlock = '/sys/block'): number {
  return Number(readFileSync(join(sysBlock, disk, 'size'), 'utf8').trim()) * 512;
}

/** True when path is a block device (an install target on a node) rather than a regular file (tests, images). */
export function isBlockDevice(path: string): boolean {
  return statSync(path).isBlockDevice();
}

/** Writes each chunk at its offset, in order, then flushes to the device. */
export function writeChunks(path: string, writes: ReadonlyArray<{ readonly offsetBytes: number; readonly bytes: Uint8Array }>): void {
  const fd = openSync(path, 'r+');
  try {
    for (const w of writes) {
      for (let done = 0; done < w.bytes.length; ) done += writeSync(fd, w.bytes, done, w.bytes.length - done, w.offsetBytes + done);
    }
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Copies a filesystem image into a disk at an offset. On a regular file all-zero chunks are skipped
 * (the target is sparse and reads back zeroes); on a block device everything is written, as stale
 * blocks under a new filesystem's log would be read back by log recovery.
 */
export function copyImageInto(path: string, image: string, offsetBytes: number, options: { maxBytes: number; signal?: AbortSignal }): void {
  const sparse = !isBlockDevice(path);
  const src = openSync(image, 'r');
  const dst = openSync(path, 'r+');
  const chunk = Buffer.alloc(4 << 20);
  const zero = Buffer.alloc(chunk.length);
  try {
    for (let pos = 0; pos < options.maxBytes; ) {
      options.signal?.throwIfAborted();
      const n = readSync(src, chunk, 0, Math.min(chunk.length, options.maxBytes - pos), pos);
      if (n === 0) break;
      const part = chunk.subarray(0, n);
      if (!sparse || !part.equals(zero.subarray(0, n))) {
        for (let done = 0; done < n; ) done += writeSync(dst, part, done, n - done, offsetBytes + pos + done);
      }
      pos += n;
    }
    fsyncSync(dst);
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/** Options of {@link makeXfsImage}. */
export interface MakeXfsImageOptions {
  readonly sizeBytes: number;
  readonly label: string;
  /** [path in the filesystem, host file, mode (default 0644)]. */
  readonly files: ReadonlyArray<readonly [path: string, hostPath: string, mode?: number]>;
  readonly mkfs?: string;
}

/**
 * Makes an XFS filesystem image in a (sparse) file, filled with files through mkfs.xfs' prototype
 * file: nothing is mounted, so it works before the kernel knows the new partitions.
 */
export function makeXfsImage(file: string, options: MakeXfsImageOptions): void {
  const proto = `${file}.proto`;
  writeFileSync(proto, xfsProto(options.files));
  const fd = openSync(file, 'w');
  try {
    ftruncateSync(fd, options.sizeBytes);
  } finally {
    closeSync(fd);
  }
  try {
    execFileSync(options.mkfs ?? MKFS_XFS, ['-f', '-q', '-L', options.label, '-p', proto, file], {
      env: MKFS_ENV,
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 120_000,
    });
  } catch (err) {
    const stderr = String((err as { stderr?: Buffer }).stderr ?? '').trim();
    throw new TalosError(Code.Internal, `mkfs.xfs ${options.label} image: ${(stderr || (err as Error).message).split('\n').slice(0, 3).join('; ')}`, { cause: err });
  } finally {
    rmSync(proto, { force: true });
  }
}
