import test from 'node:test';
import assert from 'node:assert/strict';
import {
  ActiveMachineConfigId,
  NamespaceName,
  TimeStatusType,
  applyPatches,
  generateMachineConfigs,
  generateSecretsBundle,
  loadConfig,
  newMachineConfig,
  newTimeServerStatus,
  parsePatch,
  toConfigSecrets,
  type TimeStatusSpec,
} from '@talos-ts/machinery';
import { assertResources, hasChronyd, startChrony, startControllerSuite } from '@talos-ts/testkit';
import { ntpExchange } from '../../linux/ntp-exchange.ts';
import { createTimeServerConfigController } from '../network/timeserver-config.ts';
import { createTimeServerMergeController } from '../network/timeserver-merge.ts';
import { createTimeServerSpecController } from '../network/timeserver-spec.ts';
import type { AdjustableClock } from '../../timed/sync.ts';
import { SyncController } from './sync.ts';

const kind = { namespace: NamespaceName.runtime, type: TimeStatusType };
/** The network controllers that turn machine.time.servers into the TimeServerStatus timed reads. */
const timeServerChain = () => [createTimeServerConfigController(), createTimeServerMergeController(), createTimeServerSpecController()];
const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });

function config(patch: string): string {
  const g = generateMachineConfigs({ clusterName: 'timed', endpoint: 'https://127.0.0.1:6443', secrets: toConfigSecrets(bundle) });
  const loaded = loadConfig(g.worker.toYaml(), { filename: 'worker' });
  const p = parsePatch(patch, { name: 'patch' });
  if (loaded.error || p.error) throw loaded.error ?? p.error;
  const out = applyPatches(loaded.value, [p.value]);
  if (out.error) throw out.error;
  return out.value.toYaml();
}

/** The host's clock plus an offset: timed corrects this one, never the host's. */
function offsetClock(offsetMs: number): AdjustableClock & { offsetMs: number } {
  const c = {
    offsetMs,
    now: () => Date.now() + c.offsetMs,
    step: (d: number) => void (c.offsetMs += d),
    slew: (d: number) => void (c.offsetMs += d),
  };
  return c;
}

test('SyncController: the servers of machine.time reach timed through TimeServerStatus; TimeStatus turns synced once chrony corrected the clock', { skip: !hasChronyd() && 'needs chronyd' }, async () => {
  await using chrony = await startChrony({ address: '127.0.24.3', port: 12326 });
  const clock = offsetClock(-10 * 60_000);
  await using suite = startControllerSuite({
    controllers: [...timeServerChain(), new SyncController({ containerMode: false, adjuster: clock, exchange: ntpExchange, queryTimeoutMs: 300 })],
  });
  // The first server never answers (nothing listens there); the second is chrony.
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: config(`machine:\n  time:\n    servers: [127.0.24.4:12326, ${chrony.server}]\n`) }));
  await assertResources<TimeStatusSpec>(suite.state, kind, { ids: ['node'], check: (r) => assert.deepEqual(r.spec, { synced: true, epoch: 0, syncDisabled: false }) });
  assert.ok(Math.abs(clock.offsetMs) < 50, String(clock.offsetMs));
});

test('SyncController: machine.time.disabled and container mode leave the clock alone and report syncDisabled', async () => {
  const clock = offsetClock(-60_000);
  await using suite = startControllerSuite({ controllers: [new SyncController({ containerMode: true, adjuster: clock, exchange: ntpExchange })] });
  await assertResources<TimeStatusSpec>(suite.state, kind, { ids: ['node'], check: (r) => assert.deepEqual(r.spec, { synced: true, epoch: 0, syncDisabled: true }) });
  const clock2 = offsetClock(-60_000);
  await using suite2 = startControllerSuite({ controllers: [new SyncController({ containerMode: false, adjuster: clock2, exchange: ntpExchange })] });
  suite2.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: config('machine:\n  time:\n    disabled: true\n') }));
  await assertResources<TimeStatusSpec>(suite2.state, kind, { ids: ['node'], check: (r) => assert.deepEqual(r.spec, { synced: true, epoch: 0, syncDisabled: true }) });
  assert.equal(clock.offsetMs, -60_000);
  assert.equal(clock2.offsetMs, -60_000);
});

test('SyncController: past machine.time.bootTimeout the clock counts as synced even though no server answered', async () => {
  const clock = offsetClock(-60_000);
  await using suite = startControllerSuite({
    controllers: [...timeServerChain(), new SyncController({ containerMode: false, adjuster: clock, exchange: ntpExchange, queryTimeoutMs: 100 })],
  });
  const started = Date.now();
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: config(`machine:\n  time:\n    bootTimeout: 400ms\n    servers: ['127.0.24.4:12326']\n`) }));
  await assertResources<TimeStatusSpec>(suite.state, kind, { ids: ['node'], check: (r) => assert.deepEqual(r.spec, { synced: true, epoch: 0, syncDisabled: false }) });
  assert.ok(Date.now() - started >= 300, String(Date.now() - started));
  assert.equal(clock.offsetMs, -60_000);
});

test('SyncController: timed waits for TimeServerStatus and follows it, not machine.time.servers', { skip: !hasChronyd() && 'needs chronyd' }, async () => {
  await using chrony = await startChrony({ address: '127.0.27.5', port: 12327 });
  const clock = offsetClock(-5 * 60_000);
  await using suite = startControllerSuite({ controllers: [new SyncController({ containerMode: false, adjuster: clock, exchange: ntpExchange, queryTimeoutMs: 300 })] });
  // The config names chrony, but nothing has published TimeServerStatus: no sync runs.
  suite.state.create(newMachineConfig(ActiveMachineConfigId, { yaml: config(`machine:\n  time:\n    servers: [${chrony.server}]\n`) }));
  await assertResources<TimeStatusSpec>(suite.state, kind, { ids: ['node'], check: (r) => assert.deepEqual(r.spec, { synced: false, epoch: 0, syncDisabled: false }) });
  await new Promise((r) => setTimeout(r, 700));
  assert.equal(clock.offsetMs, -5 * 60_000);
  // Servers as a DHCP lease or the merge would publish them: timed syncs against those.
  suite.state.create(newTimeServerStatus({ timeServers: [chrony.server], useNTS: false }));
  await assertResources<TimeStatusSpec>(suite.state, kind, { ids: ['node'], check: (r) => assert.deepEqual(r.spec, { synced: true, epoch: 0, syncDisabled: false }) });
  assert.ok(Math.abs(clock.offsetMs) < 50, String(clock.offsetMs));
});
