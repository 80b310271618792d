import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const checkedIn = join(root, 'packages/machinery/src/gen');

function files(dir: string, out: Map<string, string> = new Map(), base = dir): Map<string, string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) files(p, out, base);
    else out.set(relative(base, p), readFileSync(p, 'utf8'));
  }
  return out;
}

test('gen-proto: checked-in src/gen matches what api/*.proto generates (run npm run gen:proto)', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-gen-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  execFileSync('bash', [join(root, 'scripts/gen-proto.sh'), dir], { stdio: 'pipe' });
  const fresh = files(dir);
  const current = files(checkedIn);
  assert.ok(fresh.size > 0, 'generator produced no files');
  assert.deepEqual([...current.keys()].sort(), [...fresh.keys()].sort(), 'generated file set differs');
  for (const [name, text] of fresh) assert.ok(current.get(name) === text, `${name} is stale`);
});
