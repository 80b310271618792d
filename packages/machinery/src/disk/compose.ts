import { biosBootSectors } from './bios-boot.ts';
import { encodeGpt, SECTOR_BYTES, type GptLayout } from './gpt.ts';
import { partitionByLabel } from './talos-layout.ts';

/** Bytes to write at an offset of a disk. */
export interface DiskWrite {
  readonly offsetBytes: number;
  readonly bytes: Uint8Array;
}

/**
 * Everything but the filesystems that makes a disk boot through BIOS: the GPT (primary and backup),
 * GRUB's boot.img in sector 0 around the protective MBR's table, and core.img at the start of the
 * BIOS partition. Applied in order; the imager and the node's installer both use it.
 */
export function bootloaderWrites(options: { layout: GptLayout; bootImg: Uint8Array; coreImg: Uint8Array }): DiskWrite[] {
  const { layout } = options;
  const bios = partitionByLabel(layout, 'BIOS');
  if (!bios) throw new RangeError('layout has no BIOS partition');
  const gpt = encodeGpt(layout);
  const { mbr, core } = biosBootSectors({
    mbr: gpt.primary.subarray(0, SECTOR_BYTES),
    bootImg: options.bootImg,
    coreImg: options.coreImg,
    coreLba: bios.firstLba,
    coreMaxSectors: bios.lastLba - bios.firstLba + 1,
  });
  return [
    { offsetBytes: 0, bytes: gpt.primary },
    { offsetBytes: 0, bytes: mbr },
    { offsetBytes: gpt.backupOffsetBytes, bytes: gpt.backup },
    { offsetBytes: bios.firstLba * SECTOR_BYTES, bytes: core },
  ];
}

/**
 * An mkfs.xfs prototype file for a tree of regular files (paths like /A/vmlinuz) owned by root:
 * directories 0755, files 0644 unless a mode is given, each copied from its host path. It lets
 * mkfs.xfs fill a new filesystem without mounting it.
 */
export function xfsProto(files: ReadonlyArray<readonly [path: string, hostPath: string, mode?: number]>): string {
  interface Dir { dirs: Map<string, Dir>; files: Array<[string, string, number]> }
  const root: Dir = { dirs: new Map(), files: [] };
  for (const [path, host, mode] of files) {
    const parts = path.split('/').filter(Boolean);
    const name = parts.pop();
    if (!name || /\s/.test(path) || /\s/.test(host)) throw new RangeError(`prototype: bad path ${path}`);
    let d = root;
    for (const p of parts) {
      let next = d.dirs.get(p);
      if (!next) d.dirs.set(p, (next = { dirs: new Map(), files: [] }));
      d = next;
    }
    d.files.push([name, host, mode ?? 0o644]);
  }
  const lines: string[] = ['/dev/null', '0 0', 'd--755 0 0'];
  const walk = (d: Dir): void => {
    for (const [name, host, mode] of d.files) lines.push(`${name} ---${(mode & 0o777).toString(8).padStart(3, '0')} 0 0 ${host}`);
    for (const [name, sub] of d.dirs) {
      lines.push(`${name} d--755 0 0`);
      walk(sub);
      lines.push('$');
    }
  };
  walk(root);
  lines.push('$');
  return `${lines.join('\n')}\n`;
}

/**
 * File names of an image directory that an install reads (the imager writes them): the contract
 * between `talos-imager build` and the node's installer.
 */
export const InstallerFiles = {
  kernel: 'vmlinuz',
  initramfs: 'initramfs.img',
  rootfsCpio: 'rootfs.cpio',
  bootImg: 'boot.img',
  coreImg: 'core.img',
  manifest: 'manifest.json',
} as const;
