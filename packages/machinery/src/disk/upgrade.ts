import { Code, TalosError } from '@talos-ts/cosi';
import { formatImageReference, looksLikeImageReference, parseImageReference } from '../oci/reference.ts';
import type { BootChoice, BootSlot } from './grub.ts';

/** The ack an accepted upgrade answers with, word for word as upstream's. */
export const UPGRADE_ACK = 'Upgrade request received';

/** The slot that is not `slot`: an upgrade writes it, a rollback boots it. */
export function otherSlot(slot: BootSlot): BootSlot {
  return slot === 'A' ? 'B' : 'A';
}

/** Where an upgrade's installer comes from: an installer OCI image, or an image directory over http(s). */
export type UpgradeSource = { readonly kind: 'http'; readonly url: string } | { readonly kind: 'oci'; readonly reference: string };

/**
 * Reads an upgrade's image reference: an OCI image reference as upstream takes (checked here, so
 * a typo is InvalidArgument before anything is fetched) or the http(s) URL of an image directory.
 */
export function parseUpgradeImage(ref: string): UpgradeSource {
  const trimmed = ref.trim();
  if (trimmed === '') throw new TalosError(Code.InvalidArgument, 'upgrade: an image reference is required');
  if (/^https?:\/\//i.test(trimmed)) {
    let url: URL;
    try {
      url = new URL(trimmed);
    } catch {
      throw new TalosError(Code.InvalidArgument, `upgrade: image URL ${JSON.stringify(trimmed.slice(0, 64))} is not valid`);
    }
    return { kind: 'http', url: url.href };
  }
  if (!looksLikeImageReference(trimmed)) {
    throw new TalosError(Code.InvalidArgument, `upgrade: image scheme of ${JSON.stringify(trimmed.slice(0, 64))} is not supported (give an image reference, or an http(s) URL)`);
  }
  return { kind: 'oci', reference: formatImageReference(parseImageReference(trimmed)) };
}

/** Refuses upgrade and rollback off metal, with upstream's FailedPrecondition wording. */
export function checkUpgradeSupported(platform: string): void {
  if (platform === 'container') throw new TalosError(Code.FailedPrecondition, 'method is not supported in container mode');
}

/**
 * The boot choice after writing an upgrade: the inactive slot (the one not booted now) is tried
 * once; `default` stays on the running slot so a new slot that fails to come up falls back by itself.
 */
export function upgradeBootChoice(current: BootChoice, booted: BootSlot, version = ''): { target: BootSlot; choice: BootChoice } {
  const target = otherSlot(booted);
  return { target, choice: { defaultSlot: current.defaultSlot === target ? booted : current.defaultSlot, nextSlot: target, pending: { slot: target, version } } };
}

/** How the last upgrade's one-shot try ended, as the node that came up next sees it. */
export interface UpgradeAttempt {
  /** The slot the upgrade wrote and tried once. */
  readonly slot: BootSlot;
  /** The version in that slot (the image's manifest). */
  readonly version: string;
  /** True when the node runs from that slot; false when the try did not come up and the previous slot booted. */
  readonly booted: boolean;
}

/**
 * The boot choice once machined is up on `booted`: that slot becomes the default with no one-shot
 * and no pending try. `attempt` says how a pending upgrade ended; `changed` is false when grubenv
 * already said this.
 */
export function settleBootChoice(current: BootChoice, booted: BootSlot): { choice: BootChoice; changed: boolean; attempt?: UpgradeAttempt } {
  const changed = current.defaultSlot !== booted || current.nextSlot !== undefined || current.pending !== undefined;
  const attempt = current.pending ? { slot: current.pending.slot, version: current.pending.version, booted: current.pending.slot === booted } : undefined;
  return { choice: { defaultSlot: booted }, changed, ...(attempt ? { attempt } : {}) };
}

/**
 * The boot choice of a rollback: `default` flips to the slot not booted now, and any pending
 * one-shot try is dropped. Refused (FailedPrecondition) when that slot holds no kernel.
 */
export function rollbackBootChoice(booted: BootSlot, otherHasKernel: boolean): { target: BootSlot; choice: BootChoice } {
  const target = otherSlot(booted);
  if (!otherHasKernel) throw new TalosError(Code.FailedPrecondition, `rollback: slot ${target} holds no kernel, there is nothing to roll back to`);
  return { target, choice: { defaultSlot: target } };
}

/** One file of a slot write: the new file's size, and the size of the one it replaces (0 if none). */
export interface SlotFileWrite {
  readonly name: string;
  readonly newBytes: number;
  readonly oldBytes: number;
}

/**
 * The free space a slot write needs on BOOT at its peak. Each new file is copied beside the one it
 * replaces and renamed over it only once flushed, so at the worst moment one new file and the old
 * ones not yet replaced are both there. Sizes round up to the filesystem's blocks; `extraBytes`
 * covers grub.cfg's own copy-and-rename.
 */
export function slotWriteBytesNeeded(files: readonly SlotFileWrite[], options: { blockBytes?: number; extraBytes?: number } = {}): number {
  const block = options.blockBytes ?? 4096;
  const round = (n: number): number => Math.ceil(n / block) * block;
  let inUse = 0;
  let peak = 0;
  for (const f of files) {
    inUse += round(f.newBytes);
    peak = Math.max(peak, inUse);
    inUse -= round(f.oldBytes);
  }
  return peak + round(options.extraBytes ?? 64 * 1024);
}

/**
 * Refuses a slot write that does not fit in BOOT's free space (FailedPrecondition, before anything
 * is written), naming the filesystem, what is free, what the slot needs and each file's size.
 */
export function checkSlotFits(options: { where: string; slot: BootSlot; freeBytes: number; sizeBytes: number; blockBytes?: number; files: readonly SlotFileWrite[] }): void {
  const need = slotWriteBytesNeeded(options.files, options.blockBytes ? { blockBytes: options.blockBytes } : {});
  if (need <= options.freeBytes) return;
  const mib = (n: number): string => `${(n / (1 << 20)).toFixed(1)} MiB`;
  const sizes = options.files.map((f) => `${f.name} ${mib(f.newBytes)}`).join(', ');
  throw new TalosError(
    Code.FailedPrecondition,
    `upgrade: ${options.where} is too small: ${mib(options.freeBytes)} free of ${mib(options.sizeBytes)}, slot ${options.slot} needs ${mib(need)} (${sizes}); nothing written, the node keeps its current version`,
  );
}
