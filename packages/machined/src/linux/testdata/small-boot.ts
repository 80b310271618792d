// The BOOT filesystem of the small-boot probes: a 4 MiB tmpfs holding slot A's grub.cfg and grubenv.
// Mounting needs a private mount namespace: the probes run under `unshare --mount`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootChoiceEnv, encodeGrubEnv, grubConfig } from '@talos-ts/machinery';
import { MountFlags, native } from '../native.ts';

/** A mounted 4 MiB BOOT in a fresh directory; `dispose` unmounts it and removes the directory. */
export function smallBoot(prefix: string): { dir: string; root: string; changed: () => boolean; dispose: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const root = join(dir, 'boot');
  mkdirSync(root);
  native().mount('tmpfs', root, 'tmpfs', MountFlags.NOSUID | MountFlags.NODEV, 'size=4m');
  mkdirSync(join(root, 'grub'));
  writeFileSync(join(root, 'grub/grub.cfg'), grubConfig({ cmdline: { A: ['console=ttyS0'], B: ['console=ttyS0'] } }));
  writeFileSync(join(root, 'grub/grubenv'), encodeGrubEnv(bootChoiceEnv({ defaultSlot: 'A' })));
  const snapshot = (): string => JSON.stringify([existsSync(join(root, 'B')), readFileSync(join(root, 'grub/grub.cfg'), 'utf8'), readFileSync(join(root, 'grub/grubenv')).toString('base64')]);
  const before = snapshot();
  return {
    dir,
    root,
    changed: () => snapshot() !== before,
    dispose: () => {
      native().umount2(root, 0);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
