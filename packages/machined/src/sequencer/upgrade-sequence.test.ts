import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nullLogger } from '@talos-ts/cosi';
import type { MachineRuntime } from './runtime.ts';
import { upgradeSequence } from './sequences.ts';
import { writeInactiveSlot } from './tasks/upgrade.ts';
import { ephemeralWipeRequested } from '../linux/system-disk.ts';

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

test('the upgrade sequence without --preserve leaves etcd before the slot is written and asks the next boot for a fresh EPHEMERAL', async () => {
  const order: string[] = [];
  const phases = upgradeSequence({ write: () => void order.push('write'), preserve: false }).phases;
  assert.deepEqual(
    phases.map((p) => [p.name, p.skipped !== undefined, p.tasks.map((t) => t.name)]),
    [
      ['drain', true, []],
      ['cleanup', true, []],
      ['leave', false, ['leaveEtcd']],
      ['upgrade', false, ['writeInactiveSlot']],
      ['ephemeral', false, ['wipeEphemeralAtNextBoot']],
      ['stopEverything', false, ['stopAllServices']],
      ['reboot', false, ['reboot']],
    ],
  );
  // Run the phases up to the services' stop on a runtime whose state directory is a temp dir: a
  // worker (no etcd member) has nothing to leave; the slot is written, then the wipe is requested.
  const root = mkdtempSync(join(tmpdir(), 'qr-upgrade-seq-'));
  try {
    const runtime = { cycle: undefined, paths: { root }, logger: nullLogger } as unknown as MachineRuntime;
    for (const p of phases.slice(2, 5)) {
      for (const t of p.tasks) {
        await t.run({ runtime, sequence: 'upgrade', logger: nullLogger, signal: new AbortController().signal });
        order.push(`${t.name}:${ephemeralWipeRequested(root)}`);
      }
    }
    assert.deepEqual(order, ['leaveEtcd:false', 'write', 'writeInactiveSlot:false', 'wipeEphemeralAtNextBoot:true']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the upgrade sequence with --preserve keeps the etcd member and EPHEMERAL', () => {
  const names = upgradeSequence({ write: () => undefined, preserve: true }).phases.map((p) => p.name);
  assert.deepEqual(names, ['drain', 'cleanup', 'upgrade', 'stopEverything', 'reboot']);
});

test('the slot is written only once the asking API call is over (its reply left machined), or after the bound when it never ends', async () => {
  const ctx = { runtime: {} as MachineRuntime, sequence: 'upgrade' as const, logger: nullLogger, signal: new AbortController().signal };
  let writes = 0;
  const call = new AbortController();
  const running = writeInactiveSlot(() => void writes++, call.signal, 60_000).run(ctx);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(writes, 0, 'nothing written while the reply is still on its way');
  call.abort();
  await running;
  assert.equal(writes, 1);

  // A call that never ends (a caller that vanished without a reset) holds the write only up to the bound.
  const stuck = new AbortController();
  await writeInactiveSlot(() => void writes++, stuck.signal, 20).run(ctx);
  assert.equal(writes, 2);
});
