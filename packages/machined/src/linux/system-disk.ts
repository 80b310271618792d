import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@talos-ts/cosi';
import type { GptLayout } from '@talos-ts/machinery';
import { bindMount, findTalosDisk, formatXfs, hasXfs, mountXfs, partitionDevice, writeChunks } from './disk.ts';

/** Where STATE and EPHEMERAL are mounted (upstream's mount points). */
export const STATE_MOUNT_POINT = '/system/state';
export const EPHEMERAL_MOUNT_POINT = '/var';

/** A volume of the system disk as found and mounted at boot. */
export interface SystemVolume {
  readonly label: 'STATE' | 'EPHEMERAL';
  readonly device: string;
  readonly mountPoint: string;
  /** True when this boot made the filesystem (first boot after an install or a wipe). */
  readonly formatted: boolean;
}

/** The installed disk this node booted from, and its mounted volumes. */
export interface SystemDisk {
  readonly disk: string;
  readonly layout: GptLayout;
  readonly volumes: readonly SystemVolume[];
  /** The META partition's device (upstream's key/value partition; raw, no filesystem). */
  readonly metaDevice: string;
}

/**
 * When a disk carries a Talos install, makes STATE and EPHEMERAL XFS if they are blank and mounts
 * them: STATE on the state directory (config, identity, secrets), EPHEMERAL on /var, and /var again
 * under the state directory, where machined keeps etcd data and logs (`<state>/var`), so they live
 * on EPHEMERAL as upstream's /var/lib/etcd does. Without such a disk nothing happens (live boot).
 */
export function mountSystemDisk(logger: Logger, options: { stateDir?: string } = {}): SystemDisk | undefined {
  const found = findTalosDisk();
  if (!found) return undefined;
  const stateDir = options.stateDir ?? STATE_MOUNT_POINT;
  const volumes: SystemVolume[] = [];
  for (const [label, mountPoint] of [['STATE', stateDir], ['EPHEMERAL', EPHEMERAL_MOUNT_POINT]] as const) {
    const index = found.layout.partitions.findIndex((p) => p.name === label);
    if (index < 0) throw new Error(`${found.disk}: no ${label} partition`);
    const device = partitionDevice(found.disk, index + 1);
    // STATE is mounted first, so the wipe an upgrade asked for (a file on STATE) is known here.
    const wipe = label === 'EPHEMERAL' && ephemeralWipeRequested(stateDir);
    const formatted = prepareSystemVolume(device, { label, wipe, logger });
    if (wipe) clearEphemeralWipe(stateDir);
    mountXfs(device, mountPoint);
    volumes.push({ label, device, mountPoint, formatted });
  }
  bindMount(EPHEMERAL_MOUNT_POINT, `${stateDir}/var`);
  logger.info('system disk mounted', { disk: found.disk, volumes: volumes.map((v) => `${v.label}=${v.device}@${v.mountPoint}${v.formatted ? ' (new)' : ''}`) });
  const metaIndex = found.layout.partitions.findIndex((p) => p.name === 'META');
  if (metaIndex < 0) throw new Error(`${found.disk}: no META partition`);
  return { disk: found.disk, layout: found.layout, volumes, metaDevice: partitionDevice(found.disk, metaIndex + 1) };
}

/** Bytes zeroed at the start of a wiped volume: the XFS superblock and what a probe reads. */
const WIPE_HEAD_BYTES = 1024 * 1024;

/**
 * Wipes a system volume (STATE or EPHEMERAL) for a reset: its files were removed already; zeroing
 * its head removes the filesystem signature, so the next boot makes it anew (mountSystemDisk
 * formats a volume that has no XFS), as upstream's reset wipes the partition and reprovisions it.
 */
export function wipeSystemVolume(disk: SystemDisk, label: string): string {
  const volume = disk.volumes.find((v) => v.label === label);
  if (!volume) throw new Error(`${disk.disk}: no system volume ${label}`);
  writeChunks(volume.device, [{ offsetBytes: 0, bytes: new Uint8Array(WIPE_HEAD_BYTES) }]);
  return volume.device;
}

/** The file on STATE asking the next boot to make EPHEMERAL afresh (an upgrade with --preserve=false). */
export const EPHEMERAL_WIPE_MARKER = 'wipe-ephemeral';

/**
 * Asks the next boot to reformat EPHEMERAL, as upstream's upgrade without --preserve recreates it:
 * it cannot be wiped while mounted at /var with services still writing, so the mark is left on
 * STATE (which survives) and mountSystemDisk acts on it before mounting /var.
 */
export function requestEphemeralWipe(stateDir: string, reason: string): void {
  writeFileSync(join(stateDir, EPHEMERAL_WIPE_MARKER), `${reason}\n`, { mode: 0o600 });
}

/** Whether an upgrade asked for EPHEMERAL to be wiped at this boot. */
export function ephemeralWipeRequested(stateDir: string): boolean {
  return existsSync(join(stateDir, EPHEMERAL_WIPE_MARKER));
}

/** Drops the wipe request once EPHEMERAL was made afresh. */
export function clearEphemeralWipe(stateDir: string): void {
  rmSync(join(stateDir, EPHEMERAL_WIPE_MARKER), { force: true });
}

/**
 * Makes a system volume XFS when it has no filesystem yet, or afresh when `wipe` (the old one and
 * its data are gone); true when it formatted.
 */
export function prepareSystemVolume(device: string, options: { label: string; wipe: boolean; logger: Logger; mkfs?: string }): boolean {
  if (!options.wipe && hasXfs(device)) return false;
  const t0 = Date.now();
  formatXfs(device, { label: options.label, ...(options.mkfs ? { mkfs: options.mkfs } : {}) });
  options.logger.info(options.wipe ? 'wiped system volume as requested' : 'formatted system volume', { label: options.label, device, ms: Date.now() - t0 });
  return true;
}
