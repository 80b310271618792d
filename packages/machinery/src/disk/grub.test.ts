import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { biosBootSectors } from './bios-boot.ts';
import { bootChoiceEnv, bootChoiceFromEnv, decodeGrubEnv, encodeGrubEnv, GRUB_CORE_MODULES, GRUB_PREFIX, grubConfig, grubQuote, GRUBENV_BYTES } from './grub.ts';

const hasTool = (t: string): boolean => {
  try {
    execFileSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const GRUB_PC = '/usr/lib/grub/i386-pc';

function withDir<T>(fn: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'grub-'));
  try {
    return fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('grubenv: 1024 bytes, padded with #, and decodes to what was encoded', () => {
  const b = encodeGrubEnv({ default: 'B', next_entry: '' });
  assert.equal(b.length, GRUBENV_BYTES);
  assert.equal(b.at(-1), 0x23);
  const d = decodeGrubEnv(b);
  assert.ok('value' in d);
  assert.deepEqual(d.value, { default: 'B', next_entry: '' });
  assert.throws(() => encodeGrubEnv({ x: 'a\nb' }), RangeError);
  assert.throws(() => encodeGrubEnv({ x: 'y'.repeat(1100) }), RangeError);
  assert.ok('error' in decodeGrubEnv(Buffer.alloc(1024)));
});

test('grubenv: grub-editenv lists what we wrote, and we read what it sets', { skip: !hasTool('grub-editenv') && 'grub-editenv not installed (grub-common)' }, () => {
  withDir((dir) => {
    const f = join(dir, 'grubenv');
    writeFileSync(f, encodeGrubEnv(bootChoiceEnv({ defaultSlot: 'A', nextSlot: 'B' })));
    assert.equal(execFileSync('grub-editenv', [f, 'list'], { encoding: 'utf8' }), 'default=A\nnext_entry=B\n');
    execFileSync('grub-editenv', [f, 'set', 'default=B']);
    execFileSync('grub-editenv', [f, 'unset', 'next_entry']);
    const d = decodeGrubEnv(readFileSync(f));
    assert.ok('value' in d);
    assert.deepEqual(bootChoiceFromEnv(d.value), { defaultSlot: 'B' });
  });
});

test('bootChoice: an unknown or empty slot falls back to A, next_entry empty means no one-shot', () => {
  assert.deepEqual(bootChoiceFromEnv({}), { defaultSlot: 'A' });
  assert.deepEqual(bootChoiceFromEnv({ default: 'Z', next_entry: '' }), { defaultSlot: 'A' });
  assert.deepEqual(bootChoiceFromEnv({ default: 'B', next_entry: 'A' }), { defaultSlot: 'B', nextSlot: 'A' });
});

test('grubConfig: two slots with their own arguments, a one-shot next_entry, and grub-script-check accepts it', () => {
  const cfg = grubConfig({ cmdline: { A: ['console=ttyS0', 'talos.platform=metal'], B: ['console=ttyS0', "x=it's"] } });
  assert.match(cfg, /menuentry "Talos-TS \(A\)" --id A \{\n {2}linux \/A\/vmlinuz console=ttyS0 talos.platform=metal talos.slot=A\n {2}initrd \/A\/rootfs.cpio \/A\/initramfs.img\n\}/);
  assert.match(cfg, /linux \/B\/vmlinuz console=ttyS0 'x=it'\\''s' talos.slot=B/);
  assert.match(cfg, /save_env next_entry/);
  assert.match(cfg, /load_env\nset fallback="\$\{default\}"\nif \[ -n "\$\{next_entry\}" \]; then\n {2}set default="\$\{next_entry\}"/);
  if (hasTool('grub-script-check')) {
    withDir((dir) => {
      writeFileSync(join(dir, 'grub.cfg'), cfg);
      execFileSync('grub-script-check', [join(dir, 'grub.cfg')]);
    });
  }
  assert.equal(grubQuote('a b'), "'a b'");
  assert.equal(grubQuote('ip=1.2.3.4::5:255.0.0.0:h:eth0:off'), 'ip=1.2.3.4::5:255.0.0.0:h:eth0:off');
});

test('biosBootSectors: boot.img points at core.img, core.img lists its own sectors, the partition table stays', { skip: !existsSync(join(GRUB_PC, 'boot.img')) && 'grub-pc-bin not installed' }, () => {
  withDir((dir) => {
    const core = join(dir, 'core.img');
    execFileSync('grub-mkimage', ['-O', 'i386-pc', '-o', core, '-p', GRUB_PREFIX, ...GRUB_CORE_MODULES]);
    const coreImg = readFileSync(core);
    const mbr = Buffer.alloc(512);
    mbr.fill(0xab, 446, 510);
    mbr[510] = 0x55;
    mbr[511] = 0xaa;
    const out = biosBootSectors({ mbr, bootImg: readFileSync(join(GRUB_PC, 'boot.img')), coreImg, coreLba: 206848, coreMaxSectors: 2048 });
    assert.equal(out.mbr.readBigUInt64LE(0x5c), 206848n);
    assert.equal(out.mbr[0x64], 0xff);
    assert.deepEqual(out.mbr.subarray(446, 510), mbr.subarray(446, 510));
    assert.deepEqual([...out.mbr.subarray(0x66, 0x68)], [0x90, 0x90]);
    assert.deepEqual(out.mbr.subarray(0x68, 0x1b8), readFileSync(join(GRUB_PC, 'boot.img')).subarray(0x68, 0x1b8));
    const sectors = Math.ceil(coreImg.length / 512);
    assert.equal(out.core.readBigUInt64LE(500), 206849n);
    assert.equal(out.core.readUInt16LE(508), sectors - 1);
    assert.equal(out.core.readUInt16LE(510), 0x820);
    assert.equal(out.core.length, sectors * 512);
    assert.throws(() => biosBootSectors({ mbr, bootImg: readFileSync(join(GRUB_PC, 'boot.img')), coreImg, coreLba: 2048, coreMaxSectors: 4 }), /needs \d+ sectors/);
  });
});
