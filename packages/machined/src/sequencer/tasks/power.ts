import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

// As upstream's reboot and shutdown tasks, these only say what should happen: the node acts once
// the sequence has ended and released its lock (restarting the machine, or the boot in-process).

/** Asks the node to restart the machine once this sequence ends. */
export const reboot: Task<MachineRuntime> = task('reboot', ({ runtime: r }) => {
  r.power = 'reboot';
});

/** Asks the node to power the machine off once this sequence ends. */
export const shutdown: Task<MachineRuntime> = task('shutdown', ({ runtime: r }) => {
  r.power = 'poweroff';
});
