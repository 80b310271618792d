import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cosiStatePb, inspectPb, machinePb, methodPath, timePb } from '@talos-ts/machinery';
import { proxiedMethods } from './gen/methods.ts';

test('proxiedMethods: the static table matches the proto descriptors (run npx tsx scripts/gen-apid-methods.ts)', () => {
  const fromDescriptors: Record<string, string> = {};
  for (const svc of [machinePb.MachineService, cosiStatePb.State, inspectPb.InspectService, timePb.TimeService]) {
    for (const m of svc.methods) fromDescriptors[methodPath(m)] = m.methodKind;
  }
  assert.deepEqual({ ...proxiedMethods }, fromDescriptors);
});
