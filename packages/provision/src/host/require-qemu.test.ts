import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, hasCode } from '@talos-ts/cosi';
import { requireQemu } from './qemu.ts';

test('qemu provisioner: without qemu-system-x86_64 on PATH the error says how to install it', () => {
  assert.throws(
    () => requireQemu('/nonexistent-a:/nonexistent-b'),
    (e: Error) => hasCode(e, Code.FailedPrecondition) && e.message === 'qemu-system-x86_64 is not installed: install QEMU and the image tools with: sudo bash scripts/ensure-deps.sh qemu',
  );
});
