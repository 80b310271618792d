import test from 'node:test';
import assert from 'node:assert/strict';
import { MountStatusType, NamespaceName, type MountStatusSpec } from '@talos-ts/machinery';
import { assertNoResource, assertResources, startControllerSuite } from '@talos-ts/testkit';
import { parseMounts, type MountEntry } from '../../linux/mounts.ts';
import { MountStatusController } from './mount-status.ts';

const kind = { namespace: NamespaceName.runtime, type: MountStatusType };

test('MountStatusController: one MountStatus per mount point with its options; unmounted ones go away', async () => {
  let table: MountEntry[] = parseMounts('/dev/vda / squashfs ro,relatime 0 0\ntmpfs /system tmpfs rw,nosuid,nodev 0 0\n/dev/sdb /var/lib/my\\040dir ext4 rw 0 0\n');
  await using suite = startControllerSuite({ controllers: [new MountStatusController({ readMounts: () => table, refreshMs: 20 })] });
  await assertResources<MountStatusSpec>(suite.state, kind, {
    ids: ['/', '/system', '/var/lib/my dir'],
    exact: true,
    check: (r) => {
      if (r.metadata.id === '/') assert.deepEqual(r.spec, { source: '/dev/vda', target: '/', filesystemType: 'squashfs', options: ['ro', 'relatime'], encrypted: false });
    },
  });
  table = table.filter((m) => m.target !== '/system');
  await assertNoResource(suite.state, { ...kind, id: '/system' });
});
