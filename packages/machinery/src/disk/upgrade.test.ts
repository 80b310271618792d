import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, TalosError } from '@talos-ts/cosi';
import { bootChoiceEnv, bootChoiceFromEnv, decodeGrubEnv, encodeGrubEnv, grubConfig, grubConfigCmdlines } from './grub.ts';
import { checkSlotFits, checkUpgradeSupported, otherSlot, parseUpgradeImage, rollbackBootChoice, settleBootChoice, slotWriteBytesNeeded, upgradeBootChoice } from './upgrade.ts';

const code = (fn: () => unknown): Code | undefined => {
  try {
    fn();
  } catch (e) {
    return e instanceof TalosError ? e.code : undefined;
  }
  return undefined;
};

test('the other slot of A is B and of B is A', () => {
  assert.equal(otherSlot('A'), 'B');
  assert.equal(otherSlot('B'), 'A');
});

test('an http(s) image directory URL is accepted as the upgrade source', () => {
  assert.deepEqual(parseUpgradeImage(' http://127.0.29.1:8080/v2/ '), { kind: 'http', url: 'http://127.0.29.1:8080/v2/' });
  assert.deepEqual(parseUpgradeImage('HTTPS://example.org/img'), { kind: 'http', url: 'https://example.org/img' });
});

test('an OCI image reference is accepted as the upgrade source, written in full', () => {
  assert.deepEqual(parseUpgradeImage('ghcr.io/siderolabs/installer:v1.9.0'), { kind: 'oci', reference: 'ghcr.io/siderolabs/installer:v1.9.0' });
  assert.deepEqual(parseUpgradeImage(' 10.111.36.1:5000/talos/installer:v0.2 '), { kind: 'oci', reference: '10.111.36.1:5000/talos/installer:v0.2' });
  assert.deepEqual(parseUpgradeImage('installer'), { kind: 'oci', reference: 'docker.io/library/installer:latest' });
});

test('an empty image reference, a bad URL, another scheme or a malformed reference is InvalidArgument', () => {
  assert.equal(code(() => parseUpgradeImage('  ')), Code.InvalidArgument);
  assert.equal(code(() => parseUpgradeImage('http://[bad')), Code.InvalidArgument);
  assert.equal(code(() => parseUpgradeImage('ftp://host/x')), Code.InvalidArgument);
  assert.equal(code(() => parseUpgradeImage('ghcr.io/Siderolabs/installer:v1')), Code.InvalidArgument);
  assert.equal(code(() => parseUpgradeImage('ghcr.io/siderolabs/installer:v1@sha256:00')), Code.InvalidArgument);
});

test('upgrade and rollback are refused in container mode and allowed on metal', () => {
  assert.equal(code(() => checkUpgradeSupported('container')), Code.FailedPrecondition);
  assert.doesNotThrow(() => checkUpgradeSupported('metal'));
});

test('an upgrade tries the inactive slot once and keeps the running slot as default', () => {
  assert.deepEqual(upgradeBootChoice({ defaultSlot: 'A' }, 'A', '0.2.0'), { target: 'B', choice: { defaultSlot: 'A', nextSlot: 'B', pending: { slot: 'B', version: '0.2.0' } } });
  assert.deepEqual(upgradeBootChoice({ defaultSlot: 'B' }, 'B'), { target: 'A', choice: { defaultSlot: 'B', nextSlot: 'A', pending: { slot: 'A', version: '' } } });
  // Booted by a one-shot try not yet marked good: default still names the target; it must not stay so.
  assert.deepEqual(upgradeBootChoice({ defaultSlot: 'A' }, 'B').choice.defaultSlot, 'B');
  assert.deepEqual(bootChoiceEnv(upgradeBootChoice({ defaultSlot: 'A' }, 'A', '0.2.0').choice), { default: 'A', next_entry: 'B', talos_pending_slot: 'B', talos_pending_version: '0.2.0' });
});

test('a rollback makes the other slot default with no pending try, and is refused when it holds no kernel', () => {
  assert.deepEqual(rollbackBootChoice('B', true), { target: 'A', choice: { defaultSlot: 'A' } });
  assert.deepEqual(bootChoiceEnv(rollbackBootChoice('A', true).choice), { default: 'B', next_entry: '' });
  assert.equal(code(() => rollbackBootChoice('A', false)), Code.FailedPrecondition);
});

test('a try that came up is confirmed: its slot becomes default and the pending upgrade is reported booted', () => {
  const tried = upgradeBootChoice({ defaultSlot: 'A' }, 'A', '0.2.0').choice;
  // GRUB cleared next_entry before booting B; the pending mark survives in grubenv.
  const afterGrub = bootChoiceFromEnv({ ...bootChoiceEnv(tried), next_entry: '' });
  assert.deepEqual(settleBootChoice(afterGrub, 'B'), { choice: { defaultSlot: 'B' }, changed: true, attempt: { slot: 'B', version: '0.2.0', booted: true } });
});

test('a try that never came up is reported failed when the previous slot boots again, and cleared', () => {
  const tried = upgradeBootChoice({ defaultSlot: 'A' }, 'A', '0.2.0').choice;
  const env = decodeGrubEnv(encodeGrubEnv({ ...bootChoiceEnv(tried), next_entry: '' }));
  assert.ok('value' in env);
  const settled = settleBootChoice(bootChoiceFromEnv(env.value), 'A');
  assert.deepEqual(settled, { choice: { defaultSlot: 'A' }, changed: true, attempt: { slot: 'B', version: '0.2.0', booted: false } });
  assert.deepEqual(bootChoiceEnv(settled.choice), { default: 'A', next_entry: '' });
  assert.deepEqual(settleBootChoice(settled.choice, 'A'), { choice: { defaultSlot: 'A' }, changed: false });
});

test('grubConfigCmdlines reads back each slot\'s arguments, quoted ones included, without talos.slot', () => {
  const cfg = grubConfig({ cmdline: { A: ['console=ttyS0', 'panic=1', "x=it's here"], B: ['console=ttyS0', 'rdinit=/nope'] } });
  assert.deepEqual(grubConfigCmdlines(cfg), { A: ['console=ttyS0', 'panic=1', "x=it's here"], B: ['console=ttyS0', 'rdinit=/nope'] });
});

test('slotWriteBytesNeeded: the peak is one new file beside the old ones not yet replaced, in blocks, plus grub.cfg\'s copy', () => {
  const MiB = 1 << 20;
  // Empty slot: everything new stays.
  assert.equal(slotWriteBytesNeeded([{ name: 'k', newBytes: 10 * MiB, oldBytes: 0 }, { name: 'r', newBytes: 100 * MiB, oldBytes: 0 }], { extraBytes: 0 }), 110 * MiB);
  // A slot written before: the old kernel is gone before the root is copied, the old root is not.
  assert.equal(slotWriteBytesNeeded([{ name: 'k', newBytes: 10 * MiB, oldBytes: 10 * MiB }, { name: 'r', newBytes: 100 * MiB, oldBytes: 100 * MiB }], { extraBytes: 0 }), 100 * MiB);
  // Shrinking files: the first copy is the peak.
  assert.equal(slotWriteBytesNeeded([{ name: 'r', newBytes: 50 * MiB, oldBytes: 100 * MiB }, { name: 'k', newBytes: 10 * MiB, oldBytes: 10 * MiB }], { extraBytes: 0 }), 50 * MiB);
  assert.equal(slotWriteBytesNeeded([{ name: 'x', newBytes: 1, oldBytes: 0 }]), 4096 + 64 * 1024);
});

test('checkSlotFits: refuses with FailedPrecondition naming the filesystem, free space, the need and each file; a fitting write passes', () => {
  const MiB = 1 << 20;
  const files = [{ name: 'vmlinuz', newBytes: 12 * MiB, oldBytes: 0 }, { name: 'rootfs.cpio', newBytes: 150 * MiB, oldBytes: 0 }];
  assert.throws(
    () => checkSlotFits({ where: 'BOOT (/dev/vda3 on /dev/vda)', slot: 'B', freeBytes: 100 * MiB, sizeBytes: 2000 * MiB, files }),
    (e: unknown) =>
      e instanceof TalosError &&
      e.code === Code.FailedPrecondition &&
      e.message === 'upgrade: BOOT (/dev/vda3 on /dev/vda) is too small: 100.0 MiB free of 2000.0 MiB, slot B needs 162.1 MiB (vmlinuz 12.0 MiB, rootfs.cpio 150.0 MiB); nothing written, the node keeps its current version',
  );
  checkSlotFits({ where: 'BOOT', slot: 'B', freeBytes: 163 * MiB, sizeBytes: 2000 * MiB, files });
});
