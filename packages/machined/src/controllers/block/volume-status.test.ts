import test from 'node:test';
import assert from 'node:assert/strict';
import { NamespaceName, talosLayout, VolumeStatusType, type GptLayout, type VolumeStatusSpec } from '@talos-ts/machinery';
import { assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { parseMounts, type MountEntry } from '../../linux/mounts.ts';
import { VolumeStatusController } from './volume-status.ts';

const kind = { namespace: NamespaceName.runtime, type: VolumeStatusType };

function layout(): GptLayout {
  let n = 0;
  const r = talosLayout({ diskSizeBytes: 6 * 1024 ** 3, newGuid: () => `00000000-0000-4000-8000-${(++n).toString(16).padStart(12, '0')}` });
  assert.ok('value' in r);
  return r.value;
}

test('VolumeStatusController: STATE and EPHEMERAL are ready when mounted from their partitions, located when not', async () => {
  let mounts: MountEntry[] = parseMounts('/dev/vda5 /system/state xfs rw 0 0\ntmpfs /var tmpfs rw 0 0\n');
  let disk: { disk: string; layout: GptLayout } | undefined = { disk: 'vda', layout: layout() };
  await using suite = startControllerSuite({ controllers: [new VolumeStatusController({ findDisk: () => disk, readMounts: () => mounts, refreshMs: 20 })] });
  await assertResources<VolumeStatusSpec>(suite.state, kind, {
    ids: ['STATE', 'EPHEMERAL'],
    exact: true,
    check: (r) => {
      if (r.metadata.id === 'STATE') {
        assert.deepEqual(r.spec, {
          phase: 'ready', type: 'partition', location: '/dev/vda5', mountLocation: '/dev/vda5', partitionIndex: 5, parentLocation: '/dev/vda',
          partitionUUID: '00000000-0000-4000-8000-000000000006', size: 100 * 1024 * 1024, prettySize: '105 MB', filesystem: 'xfs', mountSpec: { targetPath: '/system/state' },
        });
      } else {
        assert.equal(r.spec.phase, 'located');
        assert.equal(r.spec.location, '/dev/vda6');
      }
    },
  });
  mounts = [...mounts, ...parseMounts('/dev/vda6 /var xfs rw 0 0\n')];
  await assertResources<VolumeStatusSpec>(suite.state, kind, { ids: ['EPHEMERAL'], check: (r) => assert.equal(r.spec.phase, 'ready') });
  disk = undefined;
  await assertNoResource(suite.state, { ...kind, id: 'STATE' });
});
