import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, TalosError } from '@talos-ts/cosi';
import { bootChoiceEnv } from './grub.ts';
import { checkUpgradeSupported, otherSlot, parseUpgradeImage, rollbackBootChoice, upgradeBootChoice } from './upgrade.ts';

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
  assert.deepEqual(upgradeBootChoice({ defaultSlot: 'A' }, 'A'), { target: 'B', choice: { defaultSlot: 'A', nextSlot: 'B' } });
  assert.deepEqual(upgradeBootChoice({ defaultSlot: 'B' }, 'B'), { target: 'A', choice: { defaultSlot: 'B', nextSlot: 'A' } });
  // Booted by a one-shot try not yet marked good: default still names the target; it must not stay so.
  assert.deepEqual(upgradeBootChoice({ defaultSlot: 'A' }, 'B'), { target: 'A', choice: { defaultSlot: 'B', nextSlot: 'A' } });
  assert.deepEqual(bootChoiceEnv(upgradeBootChoice({ defaultSlot: 'A' }, 'A').choice), { default: 'A', next_entry: 'B' });
});

test('a rollback makes the other slot default with no pending try, and is refused when it holds no kernel', () => {
  assert.deepEqual(rollbackBootChoice('B', true), { target: 'A', choice: { defaultSlot: 'A' } });
  assert.deepEqual(bootChoiceEnv(rollbackBootChoice('A', true).choice), { default: 'B', next_entry: '' });
  assert.equal(code(() => rollbackBootChoice('A', false)), Code.FailedPrecondition);
});
