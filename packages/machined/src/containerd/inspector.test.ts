import { test } from 'node:test';
import assert from 'node:assert/strict';
import { create, toBinary } from '@bufbuild/protobuf';
import { cgroupsV1Pb, cgroupsV2Pb } from '@talos-ts/machinery';
import { decodeCgroupMetrics } from './inspector.ts';

test('decodeCgroupMetrics: cgroup v2 memory usage as is, CPU microseconds turned into nanoseconds', () => {
  const v2 = toBinary(cgroupsV2Pb.MetricsSchema, create(cgroupsV2Pb.MetricsSchema, { cpu: { usageUsec: 1500n }, memory: { usage: 4096n, inactiveFile: 1024n } }));
  assert.deepEqual(decodeCgroupMetrics('io.containerd.cgroups.v2.Metrics', v2), { memoryUsageBytes: 4096n, cpuUsageNs: 1_500_000n });
});

test('decodeCgroupMetrics: cgroup v1 usage leaves out inactive page cache, and never goes below zero', () => {
  const v1 = (usage: bigint, inactive: bigint): Uint8Array =>
    toBinary(cgroupsV1Pb.MetricsSchema, create(cgroupsV1Pb.MetricsSchema, { cpu: { usage: { total: 42n } }, memory: { usage: { usage }, totalInactiveFile: inactive } }));
  assert.deepEqual(decodeCgroupMetrics('types.googleapis.com/io.containerd.cgroups.v1.Metrics', v1(10_000n, 4000n)), { memoryUsageBytes: 6000n, cpuUsageNs: 42n });
  assert.deepEqual(decodeCgroupMetrics('io.containerd.cgroups.v1.Metrics', v1(100n, 4000n)), { memoryUsageBytes: 0n, cpuUsageNs: 42n });
});

test('decodeCgroupMetrics: an unknown metrics type is not guessed at', () => {
  assert.equal(decodeCgroupMetrics('io.containerd.cgroups.v3.Metrics', new Uint8Array()), undefined);
});
