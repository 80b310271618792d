import { setTimeout as sleep } from 'node:timers/promises';
import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

/**
 * How long the upgrade waits before writing: the API reply (with the actor id `talosctl upgrade
 * --wait` follows) must leave through apid before the synchronous slot write holds machined's event
 * loop for seconds and stopEverything then stops apid. Measured under TCG: without it the caller
 * saw "connection lost" instead of the reply.
 */
export const UPGRADE_REPLY_GRACE_MS = 1000;

/**
 * Writes the fetched and verified new version into the inactive slot and points the bootloader at
 * it once; `write` is the platform's (metal) disk step, given the files already on this host.
 */
export function writeInactiveSlot(write: () => void, graceMs: number = UPGRADE_REPLY_GRACE_MS): Task<MachineRuntime> {
  return task('writeInactiveSlot', async () => {
    await sleep(graceMs);
    write();
  });
}
