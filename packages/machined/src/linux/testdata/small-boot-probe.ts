// Run by bootloader-space.test.ts in a private mount namespace (unshare): a 4 MiB tmpfs stands in for
// a BOOT filesystem too small for the new slot. Prints one JSON object with what the slot writer did.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TalosError } from '@talos-ts/cosi';
import { bootChoiceEnv, encodeGrubEnv, grubConfig } from '@talos-ts/machinery';
import { writeInactiveSlot } from '../bootloader.ts';
import { MountFlags, native } from '../native.ts';

const MiB = 1 << 20;
const out: Record<string, unknown> = {};
const dir = mkdtempSync(join(tmpdir(), 'b12-small-boot-'));
const root = join(dir, 'boot');
mkdirSync(root);
native().mount('tmpfs', root, 'tmpfs', MountFlags.NOSUID | MountFlags.NODEV, 'size=4m');
mkdirSync(join(root, 'grub'));
writeFileSync(join(root, 'grub/grub.cfg'), grubConfig({ cmdline: { A: ['console=ttyS0'], B: ['console=ttyS0'] } }));
writeFileSync(join(root, 'grub/grubenv'), encodeGrubEnv(bootChoiceEnv({ defaultSlot: 'A' })));
const asset = (name: string, bytes: number): string => {
  const p = join(dir, name);
  writeFileSync(p, Buffer.alloc(bytes, 7));
  return p;
};
const before = [readFileSync(join(root, 'grub/grub.cfg'), 'utf8'), readFileSync(join(root, 'grub/grubenv')).toString('base64')];
const snapshot = (): boolean => existsSync(join(root, 'B')) || readFileSync(join(root, 'grub/grub.cfg'), 'utf8') !== before[0] || readFileSync(join(root, 'grub/grubenv')).toString('base64') !== before[1];
try {
  writeInactiveSlot(root, 'A', { kernel: asset('k', 1 * MiB), initramfs: asset('i', 1 * MiB), rootfsCpio: asset('big', 3 * MiB), cmdline: ['console=ttyS0', 'new'], version: 'v2' }, undefined, 'BOOT (test 4 MiB tmpfs)');
  out.big = 'written';
} catch (err) {
  out.big = err instanceof TalosError ? { code: err.code, message: err.message } : String(err);
}
out.bigChanged = snapshot();
try {
  out.small = writeInactiveSlot(root, 'A', { kernel: asset('k', 1 * MiB), initramfs: asset('i', 1 * MiB), rootfsCpio: asset('r', 1 * MiB), cmdline: ['console=ttyS0', 'new'], version: 'v2' });
} catch (err) {
  out.small = String(err);
}
out.smallKernel = existsSync(join(root, 'B/vmlinuz'));
native().umount2(root, 0);
rmSync(dir, { recursive: true, force: true });
process.stdout.write(`${JSON.stringify(out)}\n`);
