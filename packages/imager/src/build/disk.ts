import {
  bootloaderWrites, encodeGrubEnv, InstallerFiles, bootChoiceEnv, GRUB_CORE_MODULES, GRUB_PREFIX, grubConfig, partitionByLabel, SECTOR_BYTES, slotFiles,
  talosLayout, xfsProto, type BootChoice, type BootSlot, type GptPartition,
} from '@talos-ts/machinery';
import { closeSync, copyFileSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeCpio } from '../cpio.ts';
import { ArtifactName } from '../manifest.ts';
import { run } from './run.ts';

/** GRUB's i386-pc files on a Debian host (grub-pc-bin). */
export const GRUB_I386_PC_DIR = '/usr/lib/grub/i386-pc';

/** The installer assets an install or upgrade writes besides the kernel and initramfs, by file name. */
export const InstallerAsset = {
  /** GRUB's MBR code, patched to point at core.img when written. */
  bootImg: InstallerFiles.bootImg,
  /** GRUB's core (grub-mkimage, modules built in, prefix on BOOT). */
  coreImg: InstallerFiles.coreImg,
  /** An uncompressed cpio holding /rootfs.sqsh, loaded by GRUB before the initramfs. */
  rootfsCpio: InstallerFiles.rootfsCpio,
} as const;

/** The disk image file beside the other artifacts. */
export const DISK_IMAGE = 'disk.raw';

/**
 * Kernel arguments of every slot booted from disk (before the ones the build adds); the same as an
 * install writes. `panic=1` restarts the machine on a kernel panic, so a failing slot tried once
 * falls back to the previous one.
 */
export const DISK_KERNEL_ARGS = ['console=ttyS0', 'talos.platform=metal', 'panic=1'] as const;

/**
 * Makes the installer assets in an image directory: GRUB's boot.img and core.img, and rootfs.cpio
 * (the root SquashFS wrapped for the initramfs).
 */
export async function buildInstallerAssets(imageDir: string, signal?: AbortSignal): Promise<void> {
  copyFileSync(join(GRUB_I386_PC_DIR, 'boot.img'), join(imageDir, InstallerAsset.bootImg));
  await run('grub-mkimage', ['-O', 'i386-pc', '-d', GRUB_I386_PC_DIR, '-o', join(imageDir, InstallerAsset.coreImg), '-p', GRUB_PREFIX, ...GRUB_CORE_MODULES], signal ? { signal } : {});
  const sqsh = readFileSync(join(imageDir, ArtifactName.rootfs));
  writeFileSync(join(imageDir, InstallerAsset.rootfsCpio), writeCpio([{ kind: 'file', path: '/rootfs.sqsh', data: sqsh, mode: 0o444 }]));
}

/** Options of {@link buildDiskImage}. */
export interface BuildDiskImageOptions {
  /** An image directory with the artifacts and the installer assets. */
  readonly imageDir: string;
  /** Default: `<imageDir>/disk.raw`. */
  readonly outFile?: string;
  /** Default 6 GiB (sparse): the layout's minimum plus room on EPHEMERAL. */
  readonly diskSizeBytes?: number;
  /** Added after {@link DISK_KERNEL_ARGS} (upstream's `--extra-kernel-arg`). */
  readonly extraKernelArgs?: readonly string[];
  /** Slots populated with this image (default A only; tests of the boot choice fill both). */
  readonly slots?: readonly BootSlot[];
  /** The boot choice written to grubenv (default: slot A, no one-shot). */
  readonly bootChoice?: BootChoice;
  /** Scratch directory (default: a directory beside the output). */
  readonly workDir?: string;
  readonly signal?: AbortSignal;
}

/** Writes bytes at an offset of an open file. */
function writeAt(fd: number, bytes: Uint8Array, offsetBytes: number): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, offsetBytes + done);
}

/** Copies a (sparse) file into an open file at an offset, skipping all-zero chunks so the result stays sparse. */
function copySparse(srcPath: string, fd: number, offsetBytes: number, maxBytes: number): void {
  const src = openSync(srcPath, 'r');
  const chunk = Buffer.alloc(1 << 20);
  const zero = Buffer.alloc(chunk.length);
  try {
    for (let pos = 0; pos < maxBytes; ) {
      const n = readSync(src, chunk, 0, Math.min(chunk.length, maxBytes - pos), pos);
      if (n === 0) break;
      const part = chunk.subarray(0, n);
      if (!part.equals(zero.subarray(0, n))) writeAt(fd, part, offsetBytes + pos);
      pos += n;
    }
  } finally {
    closeSync(src);
  }
}

const bytesOf = (p: GptPartition): number => (p.lastLba - p.firstLba + 1) * SECTOR_BYTES;

/**
 * A bootable disk image: upstream's GPT layout, GRUB for BIOS in the MBR and the BIOS boot
 * partition, and BOOT (XFS) holding grub.cfg, grubenv and slot A (kernel, initramfs, root). META,
 * STATE and EPHEMERAL are left blank for the node to format on first boot; EFI is left blank too
 * (no UEFI bootloader yet).
 */
export async function buildDiskImage(options: BuildDiskImageOptions): Promise<string> {
  const { imageDir } = options;
  const out = options.outFile ?? join(imageDir, DISK_IMAGE);
  const work = options.workDir ?? `${out}.work`;
  const layoutResult = talosLayout({ diskSizeBytes: options.diskSizeBytes ?? 6 * 1024 ** 3 });
  if ('error' in layoutResult) throw new Error(layoutResult.error);
  const layout = layoutResult.value;
  const boot = partitionByLabel(layout, 'BOOT');
  if (!boot) throw new Error('layout has no BOOT partition');

  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    // BOOT's tree, turned into an XFS image by mkfs.xfs' prototype file (no mount, no root needed).
    const cmdline = [...DISK_KERNEL_ARGS, ...(options.extraKernelArgs ?? [])];
    const files: Array<[string, string]> = (options.slots ?? ['A']).flatMap((slot): Array<[string, string]> => {
      const f = slotFiles(slot);
      return [
        [f.kernel, join(imageDir, ArtifactName.kernel)],
        [f.initramfs, join(imageDir, ArtifactName.initramfs)],
        [f.rootfs, join(imageDir, InstallerAsset.rootfsCpio)],
      ];
    });
    writeFileSync(join(work, 'grub.cfg'), grubConfig({ cmdline: { A: cmdline, B: cmdline } }));
    writeFileSync(join(work, 'grubenv'), encodeGrubEnv(bootChoiceEnv(options.bootChoice ?? { defaultSlot: 'A' })));
    files.push(['/grub/grub.cfg', join(work, 'grub.cfg')], ['/grub/grubenv', join(work, 'grubenv')]);
    writeFileSync(join(work, 'boot.proto'), xfsProto(files));
    const bootFs = join(work, 'boot.xfs');
    const fd0 = openSync(bootFs, 'w');
    ftruncateSync(fd0, bytesOf(boot));
    closeSync(fd0);
    await run('mkfs.xfs', ['-q', '-f', '-L', 'BOOT', '-p', join(work, 'boot.proto'), bootFs], options.signal ? { signal: options.signal } : {});

    const writes = bootloaderWrites({ layout, bootImg: readFileSync(join(imageDir, InstallerAsset.bootImg)), coreImg: readFileSync(join(imageDir, InstallerAsset.coreImg)) });
    rmSync(out, { force: true });
    const fd = openSync(out, 'w');
    try {
      ftruncateSync(fd, layout.totalSectors * SECTOR_BYTES);
      for (const w of writes) writeAt(fd, w.bytes, w.offsetBytes);
      copySparse(bootFs, fd, boot.firstLba * SECTOR_BYTES, bytesOf(boot));
    } finally {
      closeSync(fd);
    }
    return out;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
