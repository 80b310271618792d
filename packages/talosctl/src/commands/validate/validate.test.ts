import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../main.ts';

// Fixtures live beside the machinery loader; they are read as files, not imported.
const testdata = new URL('../../../../machinery/src/config/testdata/', import.meta.url).pathname;

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t) }, out, err };
}

test('talosctl validate: fixtures are valid and the success line matches upstream', async () => {
  for (const name of ['controlplane.yaml', 'worker.yaml', 'multidoc.yaml']) {
    const c = capture();
    const file = join(testdata, name);
    assert.equal(await main(['validate', '--config', file, '--mode', 'metal', '--strict'], c.io), 0, c.err.join(''));
    assert.equal(c.out.join(''), `${file} is valid for metal mode\n`);
  }
});

test('talosctl validate: every broken config exits 1 with exactly one error line', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-validate-'));
  try {
    const files = readdirSync(join(testdata, 'broken')).map((f) => join(testdata, 'broken', f));
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `version: v1alpha1\n# ${'x'.repeat(10 * 1024 * 1024)}\n`);
    const deep = join(dir, 'deep.yaml');
    writeFileSync(deep, `version: v1alpha1\nmachine: ${'['.repeat(50_000)}\n`);
    files.push(big, deep);
    for (const file of files) {
      const c = capture();
      assert.equal(await main(['validate', '-c', file, '-m', 'container'], c.io), 1, file);
      const lines = c.err.join('').split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, `${file}: ${lines.join(' | ')}`);
      assert.ok(lines[0]?.startsWith(`error: ${file}`), lines[0]);
      assert.equal(c.out.join(''), '');
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('talosctl validate: semantic errors print one line each and exit 1; mode matters', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-validate-'));
  try {
    const file = join(dir, 'w.yaml');
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(join(testdata, 'worker.yaml'), 'utf8')
      .replace('https://192.168.1.100:6443', 'http://192.168.1.100')
      .replace(/ {4}install:\n( {8}.*\n)+/, '');
    writeFileSync(file, text);
    const metal = capture();
    assert.equal(await main(['validate', '--config', file, '--mode', 'metal'], metal.io), 1);
    const lines = metal.err.join('').trim().split('\n');
    assert.deepEqual(
      lines.map((l) => l.replace(/^error: [^ ]+: /, '')),
      ['cluster.controlPlane.endpoint: must be an https URL, got "http://192.168.1.100"', 'cluster.controlPlane.endpoint: must include a port, e.g. https://192.168.1.100:6443', 'machine.install.disk: an install disk (or diskSelector) is required in metal mode'],
    );
    const bad = capture();
    assert.equal(await main(['validate', '--config', file, '--mode', 'moon'], bad.io), 1);
    assert.match(bad.err.join(''), /unknown mode "moon"/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('talosctl validate: invalid UTF-8 and NUL bytes in the file fail naming line, column and byte offset', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'talos-validate-'));
  try {
    const { readFileSync } = await import('node:fs');
    const text = readFileSync(join(testdata, 'worker.yaml'));
    const at = text.indexOf('\n') + 1;
    for (const [byte, reason] of [
      [0xfe, 'invalid UTF-8 \\(byte 0xFE\\)'],
      [0x00, 'NUL byte'],
    ] as const) {
      const file = join(dir, `bad-${byte}.yaml`);
      writeFileSync(file, Buffer.concat([text.subarray(0, at), Buffer.from('# '), Buffer.from([byte]), text.subarray(at)]));
      const c = capture();
      assert.equal(await main(['validate', '-c', file, '-m', 'container'], c.io), 1);
      assert.match(c.err.join(''), new RegExp(`^error: ${file}:2:3: ${reason}.* at byte offset ${at + 2}`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
