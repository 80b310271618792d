import { GPT_BACKUP_SECTORS, LEGACY_BIOS_BOOTABLE, newGuid, SECTOR_BYTES, type GptLayout, type GptPartition } from './gpt.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

/** Upstream's partition labels, in the order an install writes them. */
export const PartitionLabel = {
  EFI: 'EFI',
  BIOS: 'BIOS',
  BOOT: 'BOOT',
  META: 'META',
  STATE: 'STATE',
  EPHEMERAL: 'EPHEMERAL',
} as const;
/** One of {@link PartitionLabel}. */
export type PartitionLabelName = (typeof PartitionLabel)[keyof typeof PartitionLabel];

/** Upstream's partition type GUIDs. */
export const PartitionType = {
  EFISystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  BIOSBoot: '21686148-6449-6E6F-744E-656564454649',
  LinuxFilesystemData: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
} as const;

/** Upstream's sizes (current Talos: BOOT is 2000 MiB); EPHEMERAL takes the rest and needs at least 2 GiB. */
export const PartitionSizeBytes = {
  EFI: 100 * MiB,
  BIOS: 1 * MiB,
  BOOT: 2000 * MiB,
  META: 1 * MiB,
  STATE: 100 * MiB,
  EPHEMERAL_MIN: 2 * GiB,
} as const;

/** Partitions start on 1 MiB boundaries, as upstream's (and every modern) partitioner does. */
export const ALIGN_BYTES = MiB;

const ORDER: ReadonlyArray<{ label: PartitionLabelName; type: string; sizeBytes: number; attributes?: bigint }> = [
  { label: 'EFI', type: PartitionType.EFISystem, sizeBytes: PartitionSizeBytes.EFI },
  { label: 'BIOS', type: PartitionType.BIOSBoot, sizeBytes: PartitionSizeBytes.BIOS, attributes: LEGACY_BIOS_BOOTABLE },
  { label: 'BOOT', type: PartitionType.LinuxFilesystemData, sizeBytes: PartitionSizeBytes.BOOT },
  { label: 'META', type: PartitionType.LinuxFilesystemData, sizeBytes: PartitionSizeBytes.META },
  { label: 'STATE', type: PartitionType.LinuxFilesystemData, sizeBytes: PartitionSizeBytes.STATE },
  { label: 'EPHEMERAL', type: PartitionType.LinuxFilesystemData, sizeBytes: 0 },
];

/** The smallest disk {@link talosLayout} accepts. */
export const MIN_DISK_BYTES =
  ALIGN_BYTES + ORDER.reduce((s, p) => s + p.sizeBytes, 0) + PartitionSizeBytes.EPHEMERAL_MIN + ALIGN_BYTES;

/** Options of {@link talosLayout}. */
export interface TalosLayoutOptions {
  readonly diskSizeBytes: number;
  /** GUID source (tests pass a counter). Default: random. */
  readonly newGuid?: () => string;
}

/**
 * Upstream's install layout for a BIOS/UEFI (GRUB) disk: EFI, BIOS, BOOT, META, STATE, then
 * EPHEMERAL to the end of the disk, each aligned to 1 MiB.
 */
export function talosLayout(options: TalosLayoutOptions): { value: GptLayout } | { error: string } {
  const { diskSizeBytes } = options;
  if (!Number.isSafeInteger(diskSizeBytes) || diskSizeBytes % SECTOR_BYTES !== 0) return { error: `disk size ${diskSizeBytes} is not a whole number of sectors` };
  if (diskSizeBytes < MIN_DISK_BYTES) {
    const parts = ORDER.map((p) => `${p.label} ${(p.sizeBytes > 0 ? p.sizeBytes : PartitionSizeBytes.EPHEMERAL_MIN) / MiB}${p.sizeBytes > 0 ? '' : '+'}`).join(', ');
    return { error: `disk is too small: ${(diskSizeBytes / MiB).toFixed(0)} MiB, Talos needs at least ${Math.ceil(MIN_DISK_BYTES / MiB)} MiB (${parts} MiB, 1 MiB alignment at each end)` };
  }
  const guid = options.newGuid ?? newGuid;
  const totalSectors = diskSizeBytes / SECTOR_BYTES;
  const lastUsable = totalSectors - GPT_BACKUP_SECTORS - 1;
  const alignSectors = ALIGN_BYTES / SECTOR_BYTES;
  const diskGuid = guid();
  const partitions: GptPartition[] = [];
  let next = alignSectors;
  for (const p of ORDER) {
    const first = Math.ceil(next / alignSectors) * alignSectors;
    const last = p.sizeBytes > 0 ? first + p.sizeBytes / SECTOR_BYTES - 1 : lastUsable;
    partitions.push({ name: p.label, typeGuid: p.type, guid: guid(), firstLba: first, lastLba: last, attributes: p.attributes ?? 0n });
    next = last + 1;
  }
  return { value: { diskGuid, totalSectors, partitions } };
}

/** The partition of a layout with this label, if any. */
export function partitionByLabel(layout: GptLayout, label: PartitionLabelName): GptPartition | undefined {
  return layout.partitions.find((p) => p.name === label);
}

/** True when a decoded table is a Talos install: every upstream label present, in upstream's order. */
export function isTalosLayout(layout: GptLayout): boolean {
  const names = layout.partitions.map((p) => p.name);
  return ORDER.every((p, i) => names[i] === p.label);
}
