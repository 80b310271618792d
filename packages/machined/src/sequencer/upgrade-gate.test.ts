import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code } from '@talos-ts/cosi';
import { isUpgradeInProgress, UpgradeGate } from './upgrade-gate.ts';

test('UpgradeGate: a second upgrade while one is in flight is FailedPrecondition naming both images, the first one\'s actor, step and age', () => {
  let now = 1_000_000;
  const gate = new UpgradeGate({ now: () => now });
  const turn = gate.enter('actor-1', 'reg.test/talos/installer:v1.1.0');
  turn.step('running the upgrade sequence');
  now += 42_000;
  assert.throws(
    () => gate.enter('actor-2', 'reg.test/talos/installer:v1.2.0'),
    (e: unknown) =>
      isUpgradeInProgress(e) &&
      e.code === Code.FailedPrecondition &&
      e.message === 'upgrade to reg.test/talos/installer:v1.2.0 refused: another upgrade is already in progress (to reg.test/talos/installer:v1.1.0, actor actor-1, running the upgrade sequence, started 42 s ago); the node keeps its current version until that one ends',
  );
  assert.equal(gate.current?.actorId, 'actor-1');
});

test('UpgradeGate: a released turn lets the next upgrade in; releasing twice or stepping late does not touch the next one', () => {
  const gate = new UpgradeGate();
  const first = gate.enter('a', 'one');
  first.release();
  const second = gate.enter('b', 'two');
  first.release();
  first.step('staging');
  assert.deepEqual([gate.current?.actorId, gate.current?.step], ['b', 'fetching the installer']);
  second[Symbol.dispose]();
  assert.equal(gate.current, undefined);
});
