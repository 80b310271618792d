// The quick start's scripts as a user meets them: root is checked before anything is installed,
// and ensure-deps.sh knows its profiles.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

const root = new URL('../..', import.meta.url).pathname;

test('npm run cluster: without root it stops first, naming the fix, before installing or building anything', (t) => {
  if (process.getuid?.() !== 0) {
    t.skip('needs root to drop to an unprivileged user');
    return;
  }
  // nobody cannot write the checkout: had the script gone on to npm ci or the build, that would show.
  const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'bash', 'scripts/quickstart.sh'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'npm run cluster needs root (talosctl cluster create makes network namespaces and veth pairs): run: sudo npm run cluster\n');
});

test('ensure-deps.sh: an unknown profile is refused with the list of profiles', () => {
  const r = spawnSync('bash', ['scripts/ensure-deps.sh', 'everything'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /usage: .*ensure-deps\.sh cluster\|image\|qemu\|test\n$/);
});
