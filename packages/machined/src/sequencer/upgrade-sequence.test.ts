import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nullLogger } from '@talos-ts/cosi';
import type { MachineRuntime } from './runtime.ts';
import { upgradeSequence } from './sequences.ts';

test('the upgrade sequence writes the slot before stopping services and rebooting; drain and cleanup are skipped', async () => {
  let writes = 0;
  const phases = upgradeSequence({ write: () => void writes++ }).phases;
  assert.deepEqual(
    phases.map((p) => [p.name, p.skipped !== undefined, p.tasks.map((t) => t.name)]),
    [
      ['drain', true, []],
      ['cleanup', true, []],
      ['upgrade', false, ['writeInactiveSlot']],
      ['stopEverything', false, ['stopAllServices']],
      ['reboot', false, ['reboot']],
    ],
  );
  const upgrade = phases[2]?.tasks[0];
  assert.ok(upgrade);
  await upgrade.run({ runtime: {} as MachineRuntime, sequence: 'upgrade', logger: nullLogger, signal: new AbortController().signal });
  assert.equal(writes, 1);
});
