import test from 'node:test';
import assert from 'node:assert/strict';
import { filterDepmod, moduleClosure, moduleLoadOrder } from './modules.ts';

const files = {
  dep: 'kernel/net/nf_tables.ko: kernel/lib/libcrc32c.ko kernel/net/nfnetlink.ko\nkernel/lib/libcrc32c.ko:\nkernel/net/nfnetlink.ko:\nkernel/crypto/crc32c_generic.ko:\nkernel/fs/xfs.ko: kernel/lib/libcrc32c.ko\n',
  softdep: 'softdep libcrc32c pre: crc32c\nsoftdep xfs pre: crc32c\n',
  alias: 'alias crc32c crc32c_generic\nalias fs-xfs xfs\nalias pci:v*d* nosuch\n',
};

test('moduleClosure: hard dependencies and soft dependencies by alias are included; unknown names are reported', () => {
  const r = moduleClosure(files, ['nf-tables', 'missing_mod']);
  assert.deepEqual(r.paths, ['kernel/crypto/crc32c_generic.ko', 'kernel/lib/libcrc32c.ko', 'kernel/net/nf_tables.ko', 'kernel/net/nfnetlink.ko']);
  assert.deepEqual(r.missing, ['missing_mod']);
});

test('filterDepmod: only kept modules stay in modules.dep, softdep and alias', () => {
  const kept = moduleClosure(files, ['nf_tables']).paths;
  const f = filterDepmod(files, kept);
  assert.doesNotMatch(f.dep, /xfs/);
  assert.match(f.dep, /^kernel\/net\/nf_tables\.ko: /m);
  assert.equal(f.softdep.trim(), 'softdep libcrc32c pre: crc32c');
  assert.equal(f.alias.trim(), 'alias crc32c crc32c_generic');
});

test('moduleLoadOrder: every module comes after its hard and pre-soft dependencies, each once', () => {
  const order = moduleLoadOrder(files, ['fs-xfs', 'nf_tables']);
  assert.deepEqual(order, ['kernel/crypto/crc32c_generic.ko', 'kernel/lib/libcrc32c.ko', 'kernel/fs/xfs.ko', 'kernel/net/nfnetlink.ko', 'kernel/net/nf_tables.ko']);
  for (const [i, p] of order.entries()) {
    const deps = files.dep.split('\n').find((l) => l.startsWith(`${p}:`))?.split(':')[1]?.trim().split(/\s+/).filter(Boolean) ?? [];
    for (const d of deps) assert.ok(order.indexOf(d) < i, `${d} must load before ${p}`);
  }
});
