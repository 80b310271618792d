import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IMAGE_HOST_TOOLS, requireHostTools } from './host-tools.ts';

test('image build: missing host programs are named with their packages and the ensure-deps command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'host-tools-'));
  try {
    for (const program of Object.keys(IMAGE_HOST_TOOLS).filter((p) => p !== 'mksquashfs' && p !== 'lz4')) {
      writeFileSync(join(dir, program), '#!/bin/sh\n');
      chmodSync(join(dir, program), 0o755);
    }
    assert.throws(
      () => requireHostTools(IMAGE_HOST_TOOLS, dir),
      (e: Error) => e.message === 'missing programs to build an image: mksquashfs (squashfs-tools), lz4 (lz4); install them with: sudo bash scripts/ensure-deps.sh image',
    );
    // A file that is there but not executable does not count.
    writeFileSync(join(dir, 'lz4'), '');
    assert.throws(() => requireHostTools(IMAGE_HOST_TOOLS, dir), /mksquashfs \(squashfs-tools\), lz4 \(lz4\)/);
    for (const p of ['mksquashfs', 'lz4']) {
      writeFileSync(join(dir, p), '#!/bin/sh\n');
      chmodSync(join(dir, p), 0o755);
    }
    requireHostTools(IMAGE_HOST_TOOLS, dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
