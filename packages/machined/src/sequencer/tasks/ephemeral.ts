import { requestEphemeralWipe } from '../../linux/system-disk.ts';
import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

/**
 * An upgrade without --preserve: EPHEMERAL (/var: etcd data, containerd, logs) is made afresh at
 * the next boot, before anything mounts it (see requestEphemeralWipe); the mark lives on STATE.
 */
export const wipeEphemeralAtNextBoot: Task<MachineRuntime> = task('wipeEphemeralAtNextBoot', ({ runtime: r }) => {
  requestEphemeralWipe(r.paths.root, 'upgrade without --preserve');
  r.logger.info('EPHEMERAL will be wiped at the next boot');
});
