import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { lineDiff } from './apply.ts';
import { diffLines } from './line-diff.ts';

// Longest common subsequence by the textbook table: the reference for small inputs only.
function lcsLength(a: readonly string[], b: readonly string[]): number {
  const t = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) t[i]![j] = a[i] === b[j] ? t[i + 1]![j + 1]! + 1 : Math.max(t[i + 1]![j]!, t[i]![j + 1]!);
  }
  return t[0]![0]!;
}

test('lineDiff: the edit script is a shortest one and turns the old lines into the new ones', () => {
  const lines = fc.array(fc.constantFrom('a', 'b', 'c', 'd', ''), { maxLength: 40 });
  fc.assert(
    fc.property(lines, lines, (x, y) => {
      const a = x.join('\n').split('\n');
      const b = y.join('\n').split('\n');
      const r = diffLines(a.join('\n'), b.join('\n'));
      assert.ok('edits' in r);
      const removed = new Set(r.edits.filter((e) => e.op === '-').map((e) => e.index));
      const added = new Set(r.edits.filter((e) => e.op === '+').map((e) => e.index));
      for (const e of r.edits) assert.equal(e.line, (e.op === '-' ? a : b)[e.index]);
      // What is neither removed nor added is common to both, in order; and nothing shorter exists.
      assert.deepEqual(a.filter((_, i) => !removed.has(i)), b.filter((_, j) => !added.has(j)));
      assert.equal(removed.size + added.size, a.length + b.length - 2 * lcsLength(a, b));
    }),
    { numRuns: 2000 },
  );
});

test('lineDiff: identical texts have no changes; a changed line shows as removed then added', () => {
  assert.equal(lineDiff('a\nb\n', 'a\nb\n'), 'No changes.');
  assert.equal(lineDiff('a\nb\nc\n', 'a\nB\nc\n'), '-b\n+B');
});

test('lineDiff: past the edit cap it says how many lines differ at least instead of a diff', () => {
  const before = Array.from({ length: 300 }, (_, i) => `line ${i}`).join('\n');
  const after = Array.from({ length: 300 }, (_, i) => `other ${i}`).join('\n');
  assert.equal(lineDiff(before, after, { maxEdits: 100 }), 'The configurations differ in at least 600 lines; the diff is too large to show.');
  const r = diffLines(before, after, { maxWork: 1000 });
  assert.ok('tooLarge' in r && r.atLeast >= 600);
  // Same lines in reverse order: no cheap bound applies, the search itself stops at the cap.
  const reversed = before.split('\n').reverse().join('\n');
  assert.deepEqual(diffLines(before, reversed, { maxEdits: 100 }), { tooLarge: true, atLeast: 101 });
  assert.equal(lineDiff(before, reversed, { maxEdits: 1000 }).split('\n').length, 598);
});

// The old diff filled an n×m table: two 200 KB configs (~7,000 lines each) needed ~400 MB and killed
// machined. In a 48 MB heap that table cannot exist; the bounded search fits with room to spare.
test('lineDiff: two configs over 200 KB diff within a 48 MB heap', () => {
  const script = `
    const { lineDiff } = await import(${JSON.stringify(fileURLToPath(new URL('./apply.ts', import.meta.url)))});
    const lines = (f) => Array.from({ length: 7000 }, (_, i) => '    net.example.key' + i + ': "' + f(i) + '"').join('\\n');
    const before = lines((i) => 'value-' + i);
    const near = lines((i) => (i % 500 === 0 ? 'changed-' : 'value-') + i);
    const far = lines((i) => (i % 5 === 0 ? 'changed-' : 'value-') + i);
    if (before.length < 200 * 1024) throw new Error('input too small: ' + before.length);
    process.stdout.write(JSON.stringify({ near: lineDiff(before, near), far: lineDiff(before, far) }));
  `;
  const child = spawnSync(process.execPath, ['--max-old-space-size=48', '--import', 'tsx', '--input-type=module', '-e', script], {
    encoding: 'utf8',
    timeout: 120_000,
  });
  assert.equal(child.status, 0, `the diff process failed (${child.signal ?? child.status}): ${child.stderr.slice(-2000)}`);
  const out = JSON.parse(child.stdout) as { near: string; far: string };
  assert.equal(out.near.split('\n').length, 28, '14 changed lines, each removed and added');
  assert.match(out.far, /differ in at least \d+ lines; the diff is too large to show/);
});
