import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Code, hasCode } from '@talos-ts/cosi';
import { bootChoiceEnv, encodeGrubEnv, grubConfig, grubConfigCmdlines, slotFiles } from '@talos-ts/machinery';
import { GRUB_CFG_PATH, GRUBENV_PATH, markBootGoodInBootRoot, readBootChoice, rollbackInBootRoot, writeBootChoice, writeInactiveSlot } from './bootloader.ts';

/** A BOOT root on a temp dir: grubenv with `default`/`next_entry`, and kernels for the given slots. */
function bootRoot(t: { after: (fn: () => void) => void }, env: { default: 'A' | 'B'; next?: 'A' | 'B' }, kernels: ReadonlyArray<'A' | 'B'>): string {
  const root = mkdtempSync(join(tmpdir(), 'upg-boot-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  mkdirSync(join(root, 'grub'), { recursive: true });
  writeFileSync(join(root, GRUBENV_PATH), encodeGrubEnv(bootChoiceEnv({ defaultSlot: env.default, ...(env.next ? { nextSlot: env.next } : {}) })));
  for (const slot of kernels) {
    mkdirSync(join(root, slot), { recursive: true });
    writeFileSync(join(root, slotFiles(slot).kernel), 'kernel');
  }
  return root;
}

test('rollback from slot B makes A the default and drops a pending try', (t) => {
  const root = bootRoot(t, { default: 'B', next: 'B' }, ['A', 'B']);
  assert.equal(rollbackInBootRoot(root, 'B'), 'A');
  assert.deepEqual(readBootChoice(join(root, GRUBENV_PATH)), { value: { defaultSlot: 'A' } });
});

test('rollback to a slot with no kernel is FailedPrecondition and grubenv is left byte for byte', (t) => {
  const root = bootRoot(t, { default: 'A' }, ['A']);
  const before = readFileSync(join(root, GRUBENV_PATH));
  assert.throws(() => rollbackInBootRoot(root, 'A'), (e) => hasCode(e, Code.FailedPrecondition) && /slot B holds no kernel/.test((e as Error).message));
  assert.deepEqual(readFileSync(join(root, GRUBENV_PATH)), before);
});

test('rollback refuses a grubenv that is not a GRUB environment block', (t) => {
  const root = bootRoot(t, { default: 'A' }, ['A', 'B']);
  writeFileSync(join(root, GRUBENV_PATH), 'not a grubenv');
  assert.throws(() => rollbackInBootRoot(root, 'A'), /grubenv/);
});

test('an upgrade writes the inactive slot and tries it once, keeping the running slot as default; a rollback then returns', (t) => {
  const root = bootRoot(t, { default: 'A' }, ['A']);
  const src = mkdtempSync(join(tmpdir(), 'upg-assets-'));
  t.after(() => rmSync(src, { recursive: true, force: true }));
  const assets = { kernel: join(src, 'k'), initramfs: join(src, 'i'), rootfsCpio: join(src, 'r') };
  writeFileSync(assets.kernel, 'kernel B');
  writeFileSync(assets.initramfs, 'initramfs B');
  writeFileSync(assets.rootfsCpio, 'rootfs B');
  assert.equal(writeInactiveSlot(root, 'A', assets), 'B');
  assert.equal(readFileSync(join(root, slotFiles('B').kernel), 'utf8'), 'kernel B');
  assert.equal(readFileSync(join(root, slotFiles('B').rootfs), 'utf8'), 'rootfs B');
  assert.equal(readFileSync(join(root, slotFiles('A').kernel), 'utf8'), 'kernel');
  assert.deepEqual(readBootChoice(join(root, GRUBENV_PATH)), { value: { defaultSlot: 'A', nextSlot: 'B', pending: { slot: 'B', version: '' } } });
  // Booted into B and marked good elsewhere; a rollback from B goes back to A.
  assert.equal(rollbackInBootRoot(root, 'B'), 'A');
  assert.deepEqual(readBootChoice(join(root, GRUBENV_PATH)), { value: { defaultSlot: 'A' } });
});

test('an upgrade whose source file is missing leaves grubenv unchanged', (t) => {
  const root = bootRoot(t, { default: 'A' }, ['A']);
  const before = readFileSync(join(root, GRUBENV_PATH));
  assert.throws(() => writeInactiveSlot(root, 'A', { kernel: '/nonexistent/k', initramfs: '/nonexistent/i', rootfsCpio: '/nonexistent/r' }));
  assert.deepEqual(readFileSync(join(root, GRUBENV_PATH)), before);
});

test('an upgrade boots its slot with the image\'s arguments; when that slot never comes up, the old slot reports the failed try once', (t) => {
  const root = bootRoot(t, { default: 'A' }, ['A']);
  const good = ['console=ttyS0', 'panic=1', 'ip=10.0.2.15::10.0.2.2:255.255.255.0:n:eth0:off'];
  writeFileSync(join(root, GRUB_CFG_PATH), grubConfig({ cmdline: { A: good, B: good } }));
  const src = mkdtempSync(join(tmpdir(), 'upg-assets-'));
  t.after(() => rmSync(src, { recursive: true, force: true }));
  const assets = { kernel: join(src, 'k'), initramfs: join(src, 'i'), rootfsCpio: join(src, 'r') };
  for (const f of Object.values(assets)) writeFileSync(f, 'B');
  const bad = [...good, 'rdinit=/nonexistent'];
  assert.equal(writeInactiveSlot(root, 'A', { ...assets, cmdline: bad, version: '0.3.0' }), 'B');
  assert.deepEqual(grubConfigCmdlines(readFileSync(join(root, GRUB_CFG_PATH), 'utf8')), { A: good, B: bad });
  // GRUB clears next_entry and boots B, which panics; the machine restarts into the default, A.
  const afterGrub = readBootChoice(join(root, GRUBENV_PATH));
  assert.ok('value' in afterGrub);
  writeBootChoice(join(root, GRUBENV_PATH), { defaultSlot: afterGrub.value.defaultSlot, ...(afterGrub.value.pending ? { pending: afterGrub.value.pending } : {}) });
  assert.deepEqual(markBootGoodInBootRoot(root, 'A'), { changed: true, attempt: { slot: 'B', version: '0.3.0', booted: false } });
  assert.deepEqual(readBootChoice(join(root, GRUBENV_PATH)), { value: { defaultSlot: 'A' } });
  assert.deepEqual(markBootGoodInBootRoot(root, 'A'), { changed: false });
});

test('an upgrade whose slot comes up is confirmed by that slot: default flips, reported booted', (t) => {
  const root = bootRoot(t, { default: 'A' }, ['A']);
  const src = mkdtempSync(join(tmpdir(), 'upg-assets-'));
  t.after(() => rmSync(src, { recursive: true, force: true }));
  const assets = { kernel: join(src, 'k'), initramfs: join(src, 'i'), rootfsCpio: join(src, 'r'), version: '0.2.0' };
  for (const f of [assets.kernel, assets.initramfs, assets.rootfsCpio]) writeFileSync(f, 'B');
  writeInactiveSlot(root, 'A', assets);
  assert.deepEqual(markBootGoodInBootRoot(root, 'B'), { changed: true, attempt: { slot: 'B', version: '0.2.0', booted: true } });
  assert.deepEqual(readBootChoice(join(root, GRUBENV_PATH)), { value: { defaultSlot: 'B' } });
});
