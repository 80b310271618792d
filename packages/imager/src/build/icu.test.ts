import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findIcuPackage, icuItemNames, keepIcuItem, trimIcuPackage } from './icu.ts';

test('keepIcuItem: English, root, indexes and non-locale data stay; other locales and transliterators go', () => {
  for (const kept of ['icudt78l/root.res', 'icudt78l/en.res', 'icudt78l/coll/en_US.res', 'icudt78l/res_index.res', 'icudt78l/zone/pool.res', 'icudt78l/zoneinfo64.res', 'icudt78l/uprops.icu', 'icudt78l/brkitr/word.brk', 'icudt78l/coll/ucadata.icu', 'icudt78l/supplementalData.res']) {
    assert.ok(keepIcuItem(kept), `${kept} should stay`);
  }
  for (const dropped of ['icudt78l/de.res', 'icudt78l/coll/fr_CA.res', 'icudt78l/zone/sr_Latn_BA.res', 'icudt78l/curr/es_419.res', 'icudt78l/translit/Latin_ASCII.res', 'icudt78l/en_GB.res']) {
    assert.ok(!keepIcuItem(dropped), `${dropped} should go`);
  }
});

const node = readFileSync(process.execPath);
const where = await findIcuPackage(node, process.execPath);
const skip = where ? false : 'this Node has no embedded ICU data';

test('trimIcuPackage: keeps the chosen items byte for byte, sorted, in a package of the same length', { skip }, () => {
  assert.ok(where);
  const pkg = node.subarray(where.offset, where.offset + where.sizeBytes);
  const before = icuItemNames(pkg);
  const { data, kept, usedBytes } = trimIcuPackage(pkg);
  const after = icuItemNames(data);
  assert.equal(data.length, pkg.length);
  assert.equal(kept, after.length);
  assert.deepEqual(after, before.filter(keepIcuItem));
  assert.deepEqual([...after].sort(), after, 'the table must stay sorted for ICU’s binary search');
  assert.ok(usedBytes < pkg.length / 2, `only ${pkg.length - usedBytes} bytes freed`);
  assert.ok(data.subarray(usedBytes).every((b) => b === 0));
});

test('trimIcuPackage: a Node with the trimmed data starts and formats English dates and numbers', { skip }, () => {
  assert.ok(where);
  const dir = mkdtempSync(join(tmpdir(), 'icu-test-'));
  try {
    const patched = Buffer.from(node);
    trimIcuPackage(patched.subarray(where.offset, where.offset + where.sizeBytes)).data.copy(patched, where.offset);
    const bin = join(dir, 'node');
    writeFileSync(bin, patched);
    chmodSync(bin, 0o755);
    const out = execFileSync(bin, ['-p', "[new Intl.DateTimeFormat('en-US', { dateStyle: 'full', timeZone: 'UTC' }).format(new Date(0)), (1234567.5).toLocaleString('en-US'), new Intl.DateTimeFormat('de', { timeZone: 'UTC' }).format(new Date(0))].join('|')"], { encoding: 'utf8' });
    // German falls back to the root/English data instead of failing.
    assert.match(out.trim(), /^Thursday, January 1, 1970\|1,234,567\.5\|.*1970$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
