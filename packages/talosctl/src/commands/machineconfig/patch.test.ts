import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../main.ts';

const testdata = new URL('../../../../machinery/src/config/testdata/', import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

test('talosctl machineconfig patch: inline and @file patches print the result with comments', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-patch-'));
  try {
    const pfile = join(dir, 'p.yaml');
    writeFileSync(pfile, '[{"op": "replace", "path": "/machine/network/hostname", "value": "from-file"}]\n');
    const c = capture();
    const code = await main(
      ['machineconfig', 'patch', join(testdata, 'controlplane.yaml'), '--patch', 'machine:\n  network:\n    hostname: inline\n  sysctls:\n    vm.max_map_count: "262144"\n', '-p', `@${pfile}`],
      c.io,
    );
    assert.equal(code, 0, c.err.join(''));
    const out = c.out.join('');
    assert.match(out, /hostname: from-file/);
    assert.match(out, /vm\.max_map_count: "262144"/);
    assert.match(out, /# Network settings; eth0 gets a static address/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('talosctl mc patch: --output writes the file; a bad patch exits 1 naming it and writes nothing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-patch-'));
  try {
    const out = join(dir, 'out.yaml');
    const ok = capture();
    assert.equal(await main(['mc', 'patch', join(testdata, 'worker.yaml'), '-p', 'machine:\n  install:\n    disk: /dev/vda\n', '-o', out], ok.io), 0);
    assert.match(readFileSync(out, 'utf8'), /disk: \/dev\/vda/);
    assert.equal(ok.out.join(''), '');
    const bad = capture();
    const out2 = join(dir, 'out2.yaml');
    assert.equal(await main(['mc', 'patch', join(testdata, 'worker.yaml'), '-p', 'machine:\n  instal: {}\n', '-o', out2], bad.io), 1);
    assert.equal(bad.err.join(''), 'error: inline patch: machine.instal: unknown field "instal" (did you mean "install"?)\n');
    assert.throws(() => readFileSync(out2));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
