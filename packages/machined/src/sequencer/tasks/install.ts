import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

/**
 * Installs to `machine.install.disk` through the platform's installer (see sequencer/install.ts);
 * when it did, the machine is already restarting into the disk and nothing more may boot here.
 */
export const install: Task<MachineRuntime> = task('install', async ({ runtime: r }) => {
  const checked = r.cycle?.config;
  if (!checked || !r.options.onInstall) return;
  if (await r.options.onInstall(checked)) r.halted = true;
});
