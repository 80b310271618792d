import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { nativeAddonCandidates, native } from './native.ts';

const root = process.getuid?.() === 0;
const built = nativeAddonCandidates().some((p) => existsSync(p));
const skip = !built ? 'native addon not built (scripts/build-native.sh)' : false;

test('native: errors carry the errno name and the path', { skip }, () => {
  assert.throws(() => native().mount('none', '/nonexistent/talos', 'tmpfs', 0), (err: NodeJS.ErrnoException) => err.code === 'ENOENT' && /mount \/nonexistent\/talos/.test(err.message));
  assert.throws(() => native().waitpid(999_999, true), (err: NodeJS.ErrnoException) => err.code === 'ECHILD');
});

test('native: mount, read-only remount, umount, sethostname, netlink and orphan reaping in fresh namespaces', { skip: skip || (!root && 'needs root for namespaces') }, () => {
  const probe = join(import.meta.dirname, 'testdata', 'ns-probe.ts');
  const out = execFileSync('unshare', ['--mount', '--uts', '--net', '--pid', '--fork', '--mount-proc', '--propagation', 'private', process.execPath, '--import', 'tsx', probe], {
    encoding: 'utf8',
    timeout: 30_000,
  });
  const seen = JSON.parse(out.trim().split('\n').at(-1) as string) as Record<string, unknown>;
  assert.equal(seen.pid, 1);
  assert.match(String(seen.mountLine), /^tmpfs \S+ tmpfs rw,nosuid/);
  assert.equal(seen.readOnlyWrite, 'EROFS');
  assert.equal(seen.afterUmount, false);
  assert.equal(seen.umountError, 'EINVAL');
  assert.equal(seen.hostname, 'talos-probe');
  assert.equal(Number(seen.loOperstate) & 1, 1);
  assert.match(String(seen.loAddresses), /inet 10\.77\.0\.1\/32/);
  assert.equal(seen.childExit, 0);
  assert.equal(seen.reaped, 1);
  assert.equal(seen.ownExit, 7);
  assert.equal(seen.finitError, 'ENOENT');
  // Nothing leaked into the host's namespaces.
  assert.notEqual(execFileSync('hostname', { encoding: 'utf8' }).trim(), 'talos-probe');
});
