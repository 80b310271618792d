import { closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statfsSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Logger } from '@talos-ts/cosi';
import {
  bootChoiceEnv, bootChoiceFromEnv, checkSlotFits, decodeGrubEnv, encodeGrubEnv, grubConfig, grubConfigCmdlines, GRUBENV_BYTES, otherSlot, rollbackBootChoice, settleBootChoice, slotFiles,
  upgradeBootChoice, type BootChoice, type BootSlot, type GptLayout, type UpgradeAttempt,
} from '@talos-ts/machinery';
import { partitionDevice } from './disk.ts';
import { MountFlags, native } from './native.ts';
import { readMounts } from './mounts.ts';

/** Where BOOT is mounted while the node changes the boot choice (upstream's mount point). */
export const BOOT_MOUNT_POINT = '/boot';

/** The grubenv path below BOOT's root. */
export const GRUBENV_PATH = 'grub/grubenv';

/** The grub.cfg path below BOOT's root. */
export const GRUB_CFG_PATH = 'grub/grub.cfg';

/** Reads a grubenv file's boot choice; an error when it is not a GRUB environment block. */
export function readBootChoice(path: string): { value: BootChoice } | { error: string } {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(GRUBENV_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const env = decodeGrubEnv(buf.subarray(0, n));
    return 'error' in env ? env : { value: bootChoiceFromEnv(env.value) };
  } finally {
    closeSync(fd);
  }
}

/**
 * Rewrites a grubenv file in place (same inode, same blocks) and flushes it: GRUB's save_env writes
 * the blocks it found the file in, so the file must never be replaced by a rename.
 */
export function writeBootChoice(path: string, choice: BootChoice): void {
  const bytes = encodeGrubEnv(bootChoiceEnv(choice));
  const fd = openSync(path, 'r+');
  try {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, done);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Mounts BOOT (partition 3 of the installed disk) on /boot for fn, then unmounts it. */
export function withBootMounted<T>(disk: string, layout: GptLayout, fn: (root: string) => T): T {
  const index = layout.partitions.findIndex((p) => p.name === 'BOOT');
  if (index < 0) throw new Error(`${disk}: no BOOT partition`);
  const device = partitionDevice(disk, index + 1);
  mkdirSync(BOOT_MOUNT_POINT, { recursive: true });
  const mounted = readMounts().some((m) => m.target === BOOT_MOUNT_POINT);
  if (!mounted) native().mount(device, BOOT_MOUNT_POINT, 'xfs', MountFlags.NOSUID | MountFlags.NODEV | MountFlags.NOEXEC, null);
  try {
    return fn(BOOT_MOUNT_POINT);
  } finally {
    if (!mounted) native().umount2(BOOT_MOUNT_POINT);
  }
}

/** What {@link markBootGood} found and did. */
export interface BootSettled {
  /** True when grubenv changed. */
  readonly changed: boolean;
  /** How the last upgrade's one-shot try ended, when one was pending. */
  readonly attempt?: UpgradeAttempt;
}

/** {@link markBootGood} on a mounted BOOT root. */
export function markBootGoodInBootRoot(root: string, slot: BootSlot, logger?: Logger): BootSettled {
  const path = join(root, GRUBENV_PATH);
  const current = readBootChoice(path);
  if ('error' in current) throw new Error(`${path}: ${current.error}`);
  const settled = settleBootChoice(current.value, slot);
  if (settled.changed) writeBootChoice(path, settled.choice);
  if (settled.changed) logger?.info('boot marked good', { slot, previousDefault: current.value.defaultSlot, ...(settled.attempt ? { attempt: settled.attempt } : {}) });
  return { changed: settled.changed, ...(settled.attempt ? { attempt: settled.attempt } : {}) };
}

/**
 * Marks the running slot good: it becomes grubenv's `default`, any one-shot `next_entry` and
 * pending upgrade mark are cleared, so later boots keep it. Until this runs, a reset of the machine
 * returns to the previous default (GRUB cleared `next_entry` before booting the slot). Says how a
 * pending upgrade ended: booted (this slot) or failed (the other slot was tried and did not come up).
 */
export function markBootGood(options: { disk: string; layout: GptLayout; slot: BootSlot; logger?: Logger }): BootSettled {
  return withBootMounted(options.disk, options.layout, (root) => markBootGoodInBootRoot(root, options.slot, options.logger));
}

/**
 * Rollback on a mounted BOOT root: the slot not booted now becomes grubenv's default (a pending
 * one-shot try is dropped). Throws FailedPrecondition, grubenv untouched, when that slot has no kernel.
 */
export function rollbackInBootRoot(root: string, booted: BootSlot, logger?: Logger): BootSlot {
  const path = join(root, GRUBENV_PATH);
  const current = readBootChoice(path);
  if ('error' in current) throw new Error(`${path}: ${current.error}`);
  const plan = rollbackBootChoice(booted, existsSync(join(root, slotFiles(booted === 'A' ? 'B' : 'A').kernel)));
  writeBootChoice(path, plan.choice);
  logger?.info('rollback: default boot slot changed', { from: current.value.defaultSlot, to: plan.target });
  return plan.target;
}

/** Rollback on the installed disk: mounts BOOT, flips the default slot (see {@link rollbackInBootRoot}). */
export function rollbackBoot(options: { disk: string; layout: GptLayout; slot: BootSlot; logger?: Logger }): BootSlot {
  return withBootMounted(options.disk, options.layout, (root) => rollbackInBootRoot(root, options.slot, options.logger));
}

/** The files an upgrade writes into the inactive slot, and how that slot boots. */
export interface SlotAssets {
  readonly kernel: string;
  readonly initramfs: string;
  readonly rootfsCpio: string;
  /** The slot's kernel arguments in grub.cfg; unset: its entry stays as it is. */
  readonly cmdline?: readonly string[];
  /** The version written (kept in grubenv's pending mark, reported if the try fails). */
  readonly version?: string;
}

/** Rewrites grub.cfg with `slot`'s kernel arguments replaced (a new file renamed over it: GRUB only reads it). */
function setSlotCmdline(root: string, slot: BootSlot, cmdline: readonly string[]): void {
  const path = join(root, GRUB_CFG_PATH);
  const current = grubConfigCmdlines(readFileSync(path, 'utf8'));
  const other = otherSlot(slot);
  const text = grubConfig({ cmdline: { [slot]: cmdline, [other]: current[other] ?? cmdline } as Record<BootSlot, readonly string[]> });
  writeFileSync(`${path}.new`, text);
  const fd = openSync(`${path}.new`, 'r+');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(`${path}.new`, path);
}

/**
 * Upgrade on a mounted BOOT root: writes the new files into the slot not booted now (each copied
 * beside its place, flushed, then renamed over it), then sets grubenv to try that slot once. Returns it.
 * A slot that would not fit in the filesystem's free space is refused first (FailedPrecondition,
 * naming `where`), with nothing written: a half-copied slot must never be what grubenv points at.
 */
export function writeInactiveSlot(root: string, booted: BootSlot, assets: SlotAssets, logger?: Logger, where = `BOOT at ${root}`): BootSlot {
  const path = join(root, GRUBENV_PATH);
  const current = readBootChoice(path);
  if ('error' in current) throw new Error(`${path}: ${current.error}`);
  const plan = upgradeBootChoice(current.value, booted, assets.version ?? '');
  const copies = slotCopies(plan.target, assets);
  checkInactiveSlotFits(root, booted, assets, where);
  mkdirSync(join(root, plan.target), { recursive: true });
  for (const [from, to] of copies) {
    const dest = join(root, to);
    copyFileSync(from, `${dest}.new`);
    const fd = openSync(`${dest}.new`, 'r+');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${dest}.new`, dest);
  }
  if (assets.cmdline) setSlotCmdline(root, plan.target, assets.cmdline);
  writeBootChoice(path, plan.choice);
  logger?.info('upgrade: slot written, to be tried once', { slot: plan.target, default: plan.choice.defaultSlot });
  return plan.target;
}

const slotCopies = (slot: BootSlot, assets: SlotAssets): ReadonlyArray<readonly [string, string]> => {
  const files = slotFiles(slot);
  return [[assets.kernel, files.kernel], [assets.initramfs, files.initramfs], [assets.rootfsCpio, files.rootfs]];
};

/**
 * Throws FailedPrecondition (naming `where`, its free space and the slot's need) when the files of
 * an upgrade would not fit beside what BOOT holds, as {@link writeInactiveSlot} would write them.
 */
export function checkInactiveSlotFits(root: string, booted: BootSlot, assets: SlotAssets, where = `BOOT at ${root}`): void {
  const target = otherSlot(booted);
  const fs = statfsSync(root);
  checkSlotFits({
    where,
    slot: target,
    freeBytes: fs.bavail * fs.bsize,
    sizeBytes: fs.blocks * fs.bsize,
    blockBytes: fs.bsize,
    files: slotCopies(target, assets).map(([from, to]) => ({ name: basename(to), newBytes: statSync(from).size, oldBytes: existsSync(join(root, to)) ? statSync(join(root, to)).size : 0 })),
  });
}

const bootWhere = (disk: string, layout: GptLayout): string => `BOOT (${partitionDevice(disk, layout.partitions.findIndex((p) => p.name === 'BOOT') + 1)} on ${disk})`;

/** Checks, on the installed disk, that an upgrade's files fit in BOOT (see {@link checkInactiveSlotFits}); writes nothing. */
export function checkUpgradeBootFits(options: { disk: string; layout: GptLayout; slot: BootSlot; assets: SlotAssets }): void {
  withBootMounted(options.disk, options.layout, (root) => checkInactiveSlotFits(root, options.slot, options.assets, bootWhere(options.disk, options.layout)));
}

/** Upgrade on the installed disk: mounts BOOT and writes the inactive slot (see {@link writeInactiveSlot}). */
export function upgradeBoot(options: { disk: string; layout: GptLayout; slot: BootSlot; assets: SlotAssets; logger?: Logger }): BootSlot {
  return withBootMounted(options.disk, options.layout, (root) => writeInactiveSlot(root, options.slot, options.assets, options.logger, bootWhere(options.disk, options.layout)));
}
