import test from 'node:test';
import assert from 'node:assert/strict';
import { aliasPattern, modulePlan, modulesForDevices, parseModulesAlias, parseModulesDep, parseModulesSoftdep, type ModuleIndex } from './modules.ts';

const index: ModuleIndex = {
  deps: parseModulesDep(
    [
      'kernel/net/netfilter/nf_tables.ko: kernel/lib/libcrc32c.ko kernel/net/netfilter/nfnetlink.ko',
      'kernel/lib/libcrc32c.ko:',
      'kernel/net/netfilter/nfnetlink.ko:',
      'kernel/crypto/crc32c_generic.ko:',
      'kernel/drivers/virtio/virtio_pci.ko: kernel/drivers/virtio/virtio.ko',
      'kernel/drivers/virtio/virtio.ko:',
    ].join('\n'),
  ),
  softdeps: parseModulesSoftdep('# comment\nsoftdep libcrc32c pre: crc32c\n'),
  aliases: parseModulesAlias('alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci\nalias crc32c crc32c_generic\n'),
  builtin: new Set(['unix']),
};

test('modulePlan: soft pre-dependencies (by alias) and hard dependencies load before the module, once each', () => {
  assert.deepEqual(modulePlan(index, ['nf_tables', 'nf-tables']), [
    'kernel/net/netfilter/nfnetlink.ko',
    'kernel/crypto/crc32c_generic.ko',
    'kernel/lib/libcrc32c.ko',
    'kernel/net/netfilter/nf_tables.ko',
  ]);
});

test('modulePlan: aliases resolve to modules; built-ins load nothing; unknown names throw', () => {
  assert.deepEqual(modulePlan(index, ['crc32c']), ['kernel/crypto/crc32c_generic.ko']);
  assert.deepEqual(modulePlan(index, ['unix']), []);
  assert.throws(() => modulePlan(index, ['nosuch']), /no module provides nosuch/);
});

test('modulesForDevices: a device modalias picks the driver by glob', () => {
  assert.deepEqual(modulesForDevices(index, ['pci:v00001AF4d00001000sv00001AF4sd00000001bc02sc00i00', 'pci:v00008086d*']), ['virtio_pci']);
  assert.ok(aliasPattern('a[0-9]?b*').test('a7xbzz'));
  assert.ok(!aliasPattern('a[0-9]?b*').test('aaxb'));
});
