import { setTimeout as sleep } from 'node:timers/promises';
import { task, type Task } from '../phases.ts';
import type { MachineRuntime } from '../runtime.ts';

/**
 * The longest the slot write waits for the API call that asked for the upgrade to be over on the
 * wire. The reply (with the actor id `talosctl upgrade --wait` follows) must leave machined before
 * the synchronous slot write holds its event loop for seconds and stopEverything then stops apid;
 * a fixed 1 s grace was measured too short under TCG on a loaded host (the caller saw "node
 * unreachable" although the node went on to upgrade). A caller that vanished costs this bound.
 */
export const UPGRADE_REPLY_WAIT_MS = 15_000;

/**
 * Writes the fetched and verified new version into the inactive slot and points the bootloader at
 * it once; `write` is the platform's (metal) disk step, given the files already on this host.
 * `replied` is the asking API call's signal, aborted once its stream closed (reply sent, or the
 * caller gone); without one (a staged upgrade at boot) nothing is waited for.
 */
export function writeInactiveSlot(write: () => void, replied?: AbortSignal, waitMs: number = UPGRADE_REPLY_WAIT_MS): Task<MachineRuntime> {
  return task('writeInactiveSlot', async () => {
    // Ends early (rejects) when the call is over; either way the write goes ahead.
    if (replied) await sleep(waitMs, undefined, { signal: replied }).catch(() => undefined);
    write();
  });
}
