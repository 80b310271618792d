import type { Controller, ControllerContext } from '@talos-ts/cosi';
import { NamespaceName, newVolumeStatus, prettyBytes, SECTOR_BYTES, VolumeStatusType, type GptLayout, type VolumeStatusSpec } from '@talos-ts/machinery';
import { findTalosDisk, partitionDevice } from '../../linux/disk.ts';
import { readMounts, type MountEntry } from '../../linux/mounts.ts';
import { EPHEMERAL_MOUNT_POINT, STATE_MOUNT_POINT } from '../../linux/system-disk.ts';

/** Options of {@link VolumeStatusController}. */
export interface VolumeStatusControllerOptions {
  /** Finds the installed disk (default: the first disk with a Talos GPT). */
  readonly findDisk?: () => { disk: string; layout: GptLayout } | undefined;
  readonly readMounts?: () => MountEntry[];
  /** Where STATE is expected (default /system/state). */
  readonly stateDir?: string;
  /** How often disks and mounts are read again (default 30 s). */
  readonly refreshMs?: number;
}

/**
 * Publishes VolumeStatus for the system volumes of an installed disk (STATE, EPHEMERAL): `ready`
 * when mounted where they belong, `located` when the partition is there but not mounted. A live
 * boot (no installed disk) has none.
 */
export class VolumeStatusController implements Controller {
  readonly name = 'block.VolumeStatusController';
  readonly inputs = [];
  readonly outputs = [{ type: VolumeStatusType, kind: 'exclusive' as const }];
  readonly #findDisk: () => { disk: string; layout: GptLayout } | undefined;
  readonly #readMounts: () => MountEntry[];
  readonly #stateDir: string;
  readonly #refreshMs: number;

  constructor(options: VolumeStatusControllerOptions = {}) {
    this.#findDisk = options.findDisk ?? (() => findTalosDisk());
    this.#readMounts = options.readMounts ?? (() => readMounts());
    this.#stateDir = options.stateDir ?? STATE_MOUNT_POINT;
    this.#refreshMs = options.refreshMs ?? 30_000;
  }

  async run(ctx: ControllerContext): Promise<void> {
    for await (const _ of ctx.changes()) {
      const found = this.#findDisk();
      const mounts = this.#readMounts();
      const seen = new Set<string>();
      if (found) {
        for (const [label, target] of [['STATE', this.#stateDir], ['EPHEMERAL', EPHEMERAL_MOUNT_POINT]] as const) {
          const index = found.layout.partitions.findIndex((p) => p.name === label);
          const part = found.layout.partitions[index];
          if (!part) continue;
          const location = partitionDevice(found.disk, index + 1);
          const mount = mounts.find((m) => m.target === target && m.source === location);
          const size = (part.lastLba - part.firstLba + 1) * SECTOR_BYTES;
          const spec: VolumeStatusSpec = {
            phase: mount ? 'ready' : 'located',
            type: 'partition',
            location,
            mountLocation: location,
            partitionIndex: index + 1,
            parentLocation: `/dev/${found.disk}`,
            partitionUUID: part.guid.toLowerCase(),
            size,
            prettySize: prettyBytes(size),
            filesystem: mount?.filesystemType ?? '',
            mountSpec: { targetPath: target },
          };
          seen.add(label);
          ctx.modify<VolumeStatusSpec>(newVolumeStatus(label, spec).metadata, spec, (d) => {
            d.spec = spec;
          });
        }
      }
      for (const r of ctx.list({ namespace: NamespaceName.runtime, type: VolumeStatusType })) {
        if (!seen.has(r.metadata.id)) ctx.destroy(r.metadata);
      }
      ctx.requeueAfter(this.#refreshMs);
    }
  }
}
