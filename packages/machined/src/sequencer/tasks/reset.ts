import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';
import type { ResetOptions } from '../sequences.ts';

/** The system volumes a reset can wipe by label (upstream's VolumeStatus ids of the system disk). */
export const SYSTEM_VOLUME_LABELS = ['STATE', 'EPHEMERAL'] as const;

/** A system volume label. */
export type SystemVolumeLabel = (typeof SYSTEM_VOLUME_LABELS)[number];

/**
 * Checks a reset's labels before anything stops (upstream's Reset validates them against the
 * volumes first): an unknown label is InvalidArgument naming it, and so is a USER_DISKS reset
 * that names system volumes.
 */
export function checkResetOptions(o: ResetOptions): void {
  const parts = o.systemPartitionsToWipe ?? [];
  if (parts.length > 0 && o.userDisksOnly) throw new TalosError(Code.InvalidArgument, "reset failed: invalid input, wipe mode USER_DISKS doesn't support SystemPartitionsToWipe parameter");
  for (const p of parts) {
    if (!(SYSTEM_VOLUME_LABELS as readonly string[]).includes(p.label)) {
      throw new TalosError(Code.InvalidArgument, `failed to get volume status with label ${JSON.stringify(p.label)}: no such system volume (known: ${SYSTEM_VOLUME_LABELS.join(', ')})`);
    }
  }
}

/** The volumes a (checked) reset wipes: those named with wipe set, or all of them when none is named. */
export function wipeLabels(o: ResetOptions): readonly SystemVolumeLabel[] {
  if (o.userDisksOnly) return [];
  const parts = o.systemPartitionsToWipe ?? [];
  if (parts.length === 0) return SYSTEM_VOLUME_LABELS;
  return SYSTEM_VOLUME_LABELS.filter((l) => parts.some((p) => p.wipe && p.label === l));
}

/** A graceful reset of an etcd member leaves the cluster first; when that fails nothing is wiped. */
export const leaveEtcd: Task<MachineRuntime> = task('leaveEtcd', async ({ runtime: r }) => {
  const etcd = r.cycle?.etcd;
  if (etcd && (await etcd.hasData())) await etcd.leave();
});

/**
 * Tells whoever asked for the reset that it goes ahead (the API call answers here, after the steps
 * that may refuse it, before the services that carry the answer stop).
 */
export function sendResetSignal(accepted: () => void): Task<MachineRuntime> {
  return task('sendResetSignal', () => accepted());
}

/**
 * Wipes the named system volumes. STATE: the applied and staged configs, secrets and identity
 * (system/), so the node comes back in maintenance mode; EPHEMERAL: /var/lib (etcd data,
 * containerd). Their files go first; on a node booted from its disk the volume's filesystem is then
 * removed too, and the next boot formats it anew.
 */
export function resetSystemDisk(labels: readonly SystemVolumeLabel[]): Task<MachineRuntime> {
  return task('resetSystemDisk', async ({ runtime: r }) => {
    for (const label of labels) {
      if (label === 'STATE') {
        await r.store.exclusive(() => r.store.wipe());
        await rm(join(r.paths.root, 'system'), { recursive: true, force: true });
      } else {
        await rm(join(r.paths.varDir, 'lib'), { recursive: true, force: true });
      }
      const device = r.options.wipeSystemVolume?.(label);
      r.logger.info('node reset: volume wiped', { label, ...(device ? { device } : {}) });
    }
  });
}
