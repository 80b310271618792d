import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, relative, isAbsolute } from 'node:path';
import { MACHINED_SOCKET_PATH, nodePaths } from './layout.ts';

test('nodePaths: every path of the layout lies inside the state directory and no two coincide', () => {
  const root = '/system/state';
  const paths = nodePaths(root);
  const seen = new Set<string>();
  for (const [name, p] of Object.entries(paths)) {
    if (name === 'root') continue;
    const rel = relative(root, p);
    assert.ok(rel !== '' && !rel.startsWith('..') && !isAbsolute(rel), `${name} (${p}) is inside ${root}`);
    assert.ok(!seen.has(p), `${name} (${p}) is not shared with another entry`);
    seen.add(p);
  }
});

test('nodePaths: machined listens where apid is told to dial (the contract socket path under the state directory)', () => {
  assert.equal(nodePaths('/tmp/n1').machinedSocket, join('/tmp/n1', MACHINED_SOCKET_PATH));
  assert.equal(MACHINED_SOCKET_PATH, join('system', 'run', 'machined', 'machine.sock'));
});
