import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

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

/** Wipes the node's state: the applied and staged configs, secrets and identity (system/), and /var/lib. */
export const resetSystemDisk: Task<MachineRuntime> = task('resetSystemDisk', async ({ runtime: r }) => {
  await r.store.exclusive(() => r.store.wipe());
  for (const p of [join(r.paths.root, 'system'), join(r.paths.varDir, 'lib')]) await rm(p, { recursive: true, force: true });
  r.logger.info('node reset: state wiped');
});
