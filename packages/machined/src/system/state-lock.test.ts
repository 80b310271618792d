import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode } from '@talos-ts/cosi';
import { STATE_LOCK_FILE, lockStateDirectory } from './state-lock.ts';

function tempDir(t: { after: (fn: () => void) => void }): string {
  const dir = mkdtempSync(join(tmpdir(), 'state-lock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('lockStateDirectory: a second lock of a held directory fails naming the directory and the holder PID', (t) => {
  const dir = tempDir(t);
  using held = lockStateDirectory(dir);
  assert.equal(readFileSync(held.path, 'utf8'), `${process.pid}\n`);
  assert.throws(
    () => lockStateDirectory(dir),
    (e) => hasCode(e, Code.FailedPrecondition) && (e as Error).message.includes(dir) && (e as Error).message.includes(`PID ${process.pid}`),
  );
});

test('lockStateDirectory: a released lock is removed and can be taken again', (t) => {
  const dir = tempDir(t);
  const first = lockStateDirectory(dir);
  first.release();
  assert.ok(!existsSync(join(dir, STATE_LOCK_FILE)));
  using second = lockStateDirectory(dir);
  assert.ok(existsSync(second.path));
});

test('lockStateDirectory: a lock left by a dead process, an empty lock file or our own PID from an earlier life is stale and taken over', (t) => {
  const dir = tempDir(t);
  const path = join(dir, STATE_LOCK_FILE);
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  for (const stale of [`${child.stdout}\n`, '', `${process.pid}\n`]) {
    writeFileSync(path, stale);
    const lock = lockStateDirectory(dir);
    assert.equal(readFileSync(path, 'utf8'), `${process.pid}\n`);
    lock.release();
  }
});

test('lockStateDirectory: a live process holding the lock keeps it', (t) => {
  const dir = tempDir(t);
  // PID 1 always exists: init, or the container's first process.
  writeFileSync(join(dir, STATE_LOCK_FILE), '1\n');
  assert.throws(() => lockStateDirectory(dir), (e) => hasCode(e, Code.FailedPrecondition) && /PID 1 /.test((e as Error).message));
});
