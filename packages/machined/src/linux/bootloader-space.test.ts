import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Code } from '@talos-ts/cosi';
import { nativeAddonCandidates } from './native.ts';

const root = process.getuid?.() === 0;
const built = nativeAddonCandidates().some((p) => existsSync(p));

test('writeInactiveSlot: a BOOT filesystem too small for the new slot is refused, naming it, its free space and the need, and nothing is written; a slot that fits is written', { skip: (!built && 'native addon not built (scripts/build-native.sh)') || (!root && 'needs root for a mount namespace') }, () => {
  const probe = join(import.meta.dirname, 'testdata', 'small-boot-probe.ts');
  const out = execFileSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '--import', 'tsx', probe], { encoding: 'utf8', timeout: 30_000 });
  const seen = JSON.parse(out.trim().split('\n').at(-1) as string) as { big: { code: Code; message: string } | string; bigChanged: boolean; small: string; smallKernel: boolean };
  assert.equal(typeof seen.big, 'object', `the 5 MiB slot was refused (got ${JSON.stringify(seen.big)})`);
  const big = seen.big as { code: Code; message: string };
  assert.equal(big.code, Code.FailedPrecondition);
  assert.match(big.message, /^upgrade: BOOT \(test 4 MiB tmpfs\) is too small: [34]\.\d MiB free of 4\.0 MiB, slot B needs 5\.1 MiB \(vmlinuz 1\.0 MiB, initramfs\.img 1\.0 MiB, rootfs\.cpio 3\.0 MiB\); nothing written, the node keeps its current version$/);
  assert.equal(seen.bigChanged, false, 'slot B, grub.cfg and grubenv untouched');
  assert.equal(seen.small, 'B');
  assert.equal(seen.smallKernel, true);
});

test('TalosNode.upgrade: a BOOT too small for the new slot fails the API call with FailedPrecondition before the upgrade sequence starts; nothing is written and the node keeps running', { skip: (!built && 'native addon not built (scripts/build-native.sh)') || (!root && 'needs root for a mount namespace'), timeout: 90_000 }, () => {
  const probe = join(import.meta.dirname, 'testdata', 'small-boot-upgrade-probe.ts');
  const out = execFileSync('unshare', ['--mount', '--propagation', 'private', process.execPath, '--import', 'tsx', probe], { encoding: 'utf8', timeout: 80_000 });
  const seen = JSON.parse(out.trim().split('\n').at(-1) as string) as { error?: { code: Code; message: string }; actorId?: string; writes: number; bootUnchanged: boolean; sameBoot: boolean; sequences: string[] };
  assert.equal(seen.actorId, undefined, 'the upgrade was not accepted');
  assert.equal(seen.error?.code, Code.FailedPrecondition);
  assert.match(seen.error.message, /^upgrade: BOOT \(a 4 MiB tmpfs\) is too small: [34]\.\d MiB free of 4\.0 MiB, slot B needs 5\.1 MiB \(vmlinuz 1\.0 MiB, initramfs\.img 1\.0 MiB, rootfs\.cpio 3\.0 MiB\); nothing written/);
  assert.equal(seen.writes, 0);
  assert.equal(seen.bootUnchanged, true, 'slot B, grub.cfg and grubenv untouched');
  assert.equal(seen.sameBoot, true, 'no reboot');
  assert.deepEqual(seen.sequences, ['initialize', 'boot'], 'no upgrade sequence started');
});
