import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOwnedDirectory, writeFileAtomic } from './atomic-file.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-file-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('writeFileAtomic: concurrent writers of one path all succeed and the file is one whole write, with no temp left', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'config.yaml');
  const contents = Array.from({ length: 16 }, (_, i) => `${String(i).padStart(2, '0')}:${'x'.repeat(64 * 1024)}\n`);
  await Promise.all(contents.map((c) => writeFileAtomic(path, c)));
  assert.ok(contents.includes(readFileSync(path, 'utf8')));
  assert.deepEqual(readdirSync(dir), ['config.yaml']);
  assert.equal(statSync(path).mode & 0o777, 0o600);
});

test('writeFileAtomic: a write that cannot land leaves what was there and no temp file', async (t) => {
  const dir = tempDir(t);
  const path = join(dir, 'taken');
  mkdirSync(path);
  writeFileSync(join(path, 'inside'), 'kept');
  await assert.rejects(writeFileAtomic(path, 'new'));
  assert.equal(readFileSync(join(path, 'inside'), 'utf8'), 'kept');
  assert.deepEqual(readdirSync(dir), ['taken']);
});

test('ensureOwnedDirectory: a file where the directory belongs is replaced by the directory', async (t) => {
  const dir = tempDir(t);
  const owned = join(dir, 'api');
  writeFileSync(owned, 'not a directory');
  assert.equal(await ensureOwnedDirectory(owned), 'replaced');
  assert.ok(statSync(owned).isDirectory());
  assert.equal(await ensureOwnedDirectory(owned), 'existed');
  assert.equal(await ensureOwnedDirectory(join(dir, 'new', 'deep')), 'created');
});
