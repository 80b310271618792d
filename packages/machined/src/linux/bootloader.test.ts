import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootChoiceEnv, encodeGrubEnv } from '@talos-ts/machinery';
import { readBootChoice, writeBootChoice } from './bootloader.ts';

test('writeBootChoice: rewrites grubenv in place (same inode, 1024 bytes) and readBootChoice reads it back', () => {
  const dir = mkdtempSync(join(tmpdir(), 'grubenv-'));
  try {
    const f = join(dir, 'grubenv');
    writeFileSync(f, encodeGrubEnv(bootChoiceEnv({ defaultSlot: 'A', nextSlot: 'B' })));
    const before = statSync(f);
    assert.deepEqual(readBootChoice(f), { value: { defaultSlot: 'A', nextSlot: 'B' } });
    writeBootChoice(f, { defaultSlot: 'B' });
    const after = statSync(f);
    assert.equal(after.ino, before.ino);
    assert.equal(after.size, 1024);
    assert.deepEqual(readBootChoice(f), { value: { defaultSlot: 'B' } });
    if (existsSync('/usr/bin/grub-editenv')) assert.equal(execFileSync('grub-editenv', [f, 'list'], { encoding: 'utf8' }), 'default=B\nnext_entry=\n');
    writeFileSync(f, 'not an env');
    assert.ok('error' in readBootChoice(f));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
