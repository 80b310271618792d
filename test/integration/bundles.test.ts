import { test } from 'node:test';
import assert from 'node:assert/strict';
import { build } from 'esbuild';

const root = new URL('../../', import.meta.url).pathname;

// The node's programs speak gRPC through our own HTTP/2 transport: grpc-js (and protobufjs) stay
// test dependencies and must not reach what ships.
for (const program of ['machined', 'apid', 'trustd']) {
  test(`${program} bundle: the shipped program contains no grpc-js, only our h2 transport`, async () => {
    const out = await build({
      stdin: { contents: `import { main } from './packages/${program}/src/main.ts'; await main([]);`, resolveDir: root, loader: 'ts', sourcefile: `${program}.entry.ts` },
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      metafile: true,
      outfile: `${program}.mjs`,
      logLevel: 'silent',
    });
    // Parsed inputs include tree-shaken ones: only what reached the output counts.
    const output = Object.values(out.metafile.outputs)[0];
    const modules = Object.entries(output?.inputs ?? {}).filter(([, v]) => v.bytesInOutput > 0).map(([k]) => k);
    assert.ok(modules.some((m) => m.endsWith('grpc/h2/server.ts')), 'the bundle is built from the h2 server');
    assert.deepEqual(modules.filter((m) => /@grpc\/|protobufjs/.test(m)), []);
  });
}
