import { test } from 'node:test';
import assert from 'node:assert/strict';
import { moduleParameters } from './kmod.ts';

test('bonding and dummy load without making a device of their own; other modules load without parameters', () => {
  assert.equal(moduleParameters('kernel/drivers/net/bonding/bonding.ko'), 'max_bonds=0');
  assert.equal(moduleParameters('kernel/drivers/net/dummy.ko.xz'), 'numdummies=0');
  assert.equal(moduleParameters('kernel/net/8021q/8021q.ko'), '');
  assert.equal(moduleParameters('kernel/fs/xfs/xfs.ko'), '');
});
