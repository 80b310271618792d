import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdentityType, LocalIdentityId, NamespaceName, type IdentitySpec } from '@talos-ts/machinery';
import { assertResources, startControllerSuite } from '@talos-ts/testkit';
import { NodeIdentityController, generateNodeId } from './node-identity.ts';

const kind = { namespace: NamespaceName.cluster, type: IdentityType };

async function identityFrom(path: string): Promise<string> {
  await using suite = startControllerSuite({ controllers: [new NodeIdentityController({ path })] });
  const [r] = await assertResources<IdentitySpec>(suite.state, kind, { ids: [LocalIdentityId] });
  return r!.spec.nodeId;
}

test('NodeIdentityController: the id is generated once, written to the state dir, and the same after a reboot', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-identity-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'system', 'state', 'node-identity.yaml');
  const first = await identityFrom(path);
  assert.match(first, /^[0-9A-Za-z]{43}$/);
  assert.match(readFileSync(path, 'utf8'), new RegExp(`nodeId: ${first}`));
  assert.equal(await identityFrom(path), first);
});

test('NodeIdentityController: a wiped or unreadable identity file yields a new id', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'node-identity-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 'node-identity.yaml');
  const first = await identityFrom(path);
  rmSync(path);
  const second = await identityFrom(path);
  assert.notEqual(second, first);
  writeFileSync(path, 'just: garbage\n');
  const third = await identityFrom(path);
  assert.notEqual(third, second);
  assert.equal(await identityFrom(path), third);
});

test('generateNodeId: ids are distinct and alphanumeric', () => {
  const ids = new Set(Array.from({ length: 50 }, generateNodeId));
  assert.equal(ids.size, 50);
  for (const id of ids) assert.match(id, /^[0-9A-Za-z]{43}$/);
});
