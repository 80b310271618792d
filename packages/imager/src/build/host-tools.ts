// The host programs an image build runs, checked before the build starts so a machine set up only
// for the process back end (`npm run cluster`) gets one line saying what to install, not a failure
// halfway through.

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Program → the Debian package that ships it. */
export const IMAGE_HOST_TOOLS: Readonly<Record<string, string>> = {
  mksquashfs: 'squashfs-tools',
  unsquashfs: 'squashfs-tools',
  lz4: 'lz4',
  zstd: 'zstd',
  strip: 'binutils',
  nm: 'binutils',
  gcc: 'gcc',
  make: 'make',
  'g++': 'g++',
  // The bootloader of disk images (boot.img and the i386-pc modules come with grub-pc-bin) and BOOT's filesystem.
  'grub-mkimage': 'grub-pc-bin',
  'mkfs.xfs': 'xfsprogs',
};

function onPath(program: string, path: string): boolean {
  return path.split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, program), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Throws naming the missing programs, their packages and the install command; returns when all are there. */
export function requireHostTools(tools: Readonly<Record<string, string>> = IMAGE_HOST_TOOLS, path = process.env['PATH'] ?? ''): void {
  const missing = Object.entries(tools).filter(([program]) => !onPath(program, path));
  if (missing.length === 0) return;
  const list = missing.map(([program, pkg]) => `${program} (${pkg})`).join(', ');
  throw new Error(`missing programs to build an image: ${list}; install them with: sudo bash scripts/ensure-deps.sh image`);
}
