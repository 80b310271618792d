import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addFile, divideBy, goDuration, humanizeIBytes, newNode, parseValue, presets, renderTree, usecToDuration, valueString } from './tree.ts';

test('cgroups values: max, unset, fixed-point decimals and upstream percentages', () => {
  assert.equal(valueString(parseValue('max')), 'max');
  assert.equal(valueString(parseValue('nonsense')), 'unset');
  assert.equal(valueString(parseValue('0.25')), '0.25');
  assert.equal(valueString(divideBy(parseValue('1'), parseValue('3'))), '33.33');
  assert.equal(valueString(divideBy(parseValue('5'), parseValue('max'))), '0.00');
  assert.equal(valueString(divideBy(parseValue('max'), parseValue('max'))), '100.00');
  assert.equal(valueString(divideBy(parseValue('5'), parseValue('0'))), 'max');
  assert.equal(humanizeIBytes(parseValue('1572864')), '1.5 MiB');
  assert.equal(humanizeIBytes(parseValue('max')), 'max');
});

test('cgroups durations print as Go time.Duration', () => {
  assert.equal(goDuration(0n), '0s');
  assert.equal(goDuration(1500n), '1.5µs');
  assert.equal(goDuration(250_000_000n), '250ms');
  assert.equal(goDuration(1_500_000_000n), '1.5s');
  assert.equal(goDuration(3_723_000_000_000n), '1h2m3s');
  assert.equal(usecToDuration(parseValue('2500000')), '2.5s');
});

test('cgroups tree: children sorted and drawn with upstream edges; cpu preset columns from cpu.stat', () => {
  const root = newNode();
  addFile(root, 'cpu.stat', 'usage_usec 4000\nuser_usec 3000\nsystem_usec 1000\nthrottled_usec 0\n');
  addFile(root, 'system/cpu.stat', 'user_usec 1500\nsystem_usec 250\n');
  addFile(root, 'system/cpu.weight', '100\n');
  addFile(root, 'system/runtime/cgroup.procs', '1\n');
  addFile(root, 'init/cgroup.procs', '7\n');
  const rows = renderTree(root, presets['cpu'] ?? [], { processName: (p) => p, deviceName: (d) => d });
  assert.deepEqual(rows.map((r) => r[0]), ['.', '├──init', '└──system', '    └──runtime']);
  const system = rows[2] as string[];
  assert.equal(system[1], '   100');
  assert.equal(system[4]?.trim(), '1.5ms');
  assert.equal(system[5], ' 50.00%');
  assert.equal(system[7], ' 25.00%');
  assert.equal((rows[0] as string[])[5], '-', 'the root has no parent to compare with');
});
