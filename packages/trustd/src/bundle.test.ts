import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';

test('trustd bundle: the shipped program contains no grpc-js (our own HTTP/2 transport serves it)', async () => {
  const root = new URL('../../../', import.meta.url).pathname;
  const out = await build({
    stdin: { contents: "import { main } from './packages/trustd/src/main.ts'; await main([]);", resolveDir: root, loader: 'ts', sourcefile: 'trustd.entry.ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    metafile: true,
    outfile: 'trustd.mjs',
    logLevel: 'silent',
  });
  // Parsed inputs include tree-shaken ones: only what reached the output counts.
  const output = Object.values(out.metafile.outputs)[0];
  const modules = Object.entries(output?.inputs ?? {}).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k);
  assert.ok(modules.some((m) => m.endsWith('grpc/h2/server.ts')), 'the bundle is built from the h2 server');
  assert.deepEqual(modules.filter((m) => /@grpc\/|protobufjs/.test(m)), []);
});
