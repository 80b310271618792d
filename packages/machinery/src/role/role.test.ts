import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isAllowed, rolesForMethod, rolesFromOrganizations } from './index.ts';

test('roles: only known organizations become roles', () => {
  assert.deepEqual([...rolesFromOrganizations(['os:reader', 'system:masters', 'os:etcd:backup'])].sort(), ['os:etcd:backup', 'os:reader']);
  assert.equal(rolesFromOrganizations(['acme']).size, 0);
});

test('roles: readers read, operators also operate, only admins change the machine', () => {
  const reader = rolesFromOrganizations(['os:reader']);
  const operator = rolesFromOrganizations(['os:operator']);
  const admin = rolesFromOrganizations(['os:admin']);
  assert.ok(isAllowed('/machine.MachineService/Version', reader));
  assert.ok(!isAllowed('/machine.MachineService/Reboot', reader));
  assert.ok(isAllowed('/machine.MachineService/Reboot', operator));
  assert.ok(!isAllowed('/machine.MachineService/ApplyConfiguration', operator));
  assert.ok(isAllowed('/machine.MachineService/ApplyConfiguration', admin));
});

test('roles: etcd backup may snapshot but not read the machine', () => {
  const backup = rolesFromOrganizations(['os:etcd:backup']);
  assert.ok(isAllowed('/machine.MachineService/EtcdSnapshot', backup));
  assert.ok(!isAllowed('/machine.MachineService/Version', backup));
});

test('roles: unknown methods fall back to admin only', () => {
  assert.deepEqual(rolesForMethod('/machine.MachineService/NoSuchThing'), ['os:admin']);
  assert.ok(!isAllowed('/x.Y/Z', rolesFromOrganizations(['os:operator'])));
});
