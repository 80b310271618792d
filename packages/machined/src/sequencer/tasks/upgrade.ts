import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

/**
 * Writes the fetched and verified new version into the inactive slot and points the bootloader at
 * it once; `write` is the platform's (metal) disk step, given the files already on this host.
 */
export function writeInactiveSlot(write: () => void): Task<MachineRuntime> {
  return task('writeInactiveSlot', () => write());
}
