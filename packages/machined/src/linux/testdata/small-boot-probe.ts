// Run by bootloader-space.test.ts in a private mount namespace (unshare): a 4 MiB tmpfs stands in for
// a BOOT filesystem too small for the new slot. Prints one JSON object with what the slot writer did.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { TalosError } from '@talos-ts/cosi';
import { writeInactiveSlot } from '../bootloader.ts';
import { smallBoot } from './small-boot.ts';

const MiB = 1 << 20;
const out: Record<string, unknown> = {};
const boot = smallBoot('b12-small-boot-');
const { dir, root } = boot;
const asset = (name: string, bytes: number): string => {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes, 7));
  return p;
};
try {
  writeInactiveSlot(root, 'A', { kernel: asset('k', 1 * MiB), initramfs: asset('i', 1 * MiB), rootfsCpio: asset('big', 3 * MiB), cmdline: ['console=ttyS0', 'new'], version: 'v2' }, undefined, 'BOOT (test 4 MiB tmpfs)');
  out.big = 'written';
} catch (err) {
  out.big = err instanceof TalosError ? { code: err.code, message: err.message } : String(err);
}
out.bigChanged = boot.changed();
try {
  out.small = writeInactiveSlot(root, 'A', { kernel: asset('k', 1 * MiB), initramfs: asset('i', 1 * MiB), rootfsCpio: asset('r', 1 * MiB), cmdline: ['console=ttyS0', 'new'], version: 'v2' });
} catch (err) {
  out.small = String(err);
}
out.smallKernel = existsSync(join(root, 'B/vmlinuz'));
boot.dispose();
process.stdout.write(`${JSON.stringify(out)}\n`);
