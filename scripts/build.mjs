#!/usr/bin/env node
// Bundles each Talos-TS program into one plain-JavaScript file under dist/ with esbuild: no
// TypeScript loader at run time, one file per program to ship in the image, smaller memory.
// Programs find their siblings (machined starts dist/apid.cjs, dist/trustd.cjs) by location.
import { build } from 'esbuild';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const programs = [
  { name: 'talosctl', pkg: 'talosctl' },
  { name: 'talos-discovery', pkg: 'discovery' },
  // Started by `talosctl cluster create` inside a cluster's namespace to serve its loopback forwards.
  { name: 'talos-forwarder', pkg: 'provision', entry: 'host/forwarder.ts', fn: 'forwarderMain' },
];
const only = process.argv.slice(2);
mkdirSync(join(root, 'dist'), { recursive: true });
const started = Date.now();
await Promise.all(
  programs
    .filter((p) => only.length === 0 || only.includes(p.name))
    .map((p) =>
      build({
        stdin: {
          contents: `import { ${p.fn ?? 'main'} as main } from './packages/${p.pkg}/src/${p.entry ?? 'main.ts'}';\nprocess.exitCode = await main(process.argv.slice(2));\n`,
          resolveDir: root,
          sourcefile: `${p.name}.entry.ts`,
          loader: 'ts',
        },
        bundle: true,
        platform: 'node',
        format: 'esm',
        target: 'node20',
        outfile: join(root, 'dist', `${p.name}.mjs`),
        // Some dependencies still call require(); give the ESM bundle one.
        banner: { js: "import { createRequire as __talosRequire } from 'node:module'; const require = __talosRequire(import.meta.url);" },
        legalComments: 'none',
        logLevel: 'warning',
      }),
    ),
);
// The node's own programs are CommonJS: an ES module costs every process a few MB more for the
// ESM loader, and the image runs CommonJS through V8's code cache (vm.Script cachedData, written
// when the image is built; see packages/imager). import.meta.url becomes the bundle's own file
// URL, so programs still find their siblings.
const nodePrograms = ['machined', 'apid', 'trustd'].filter((n) => only.length === 0 || only.includes(n));
await Promise.all(
  nodePrograms.map((name) =>
    build({
      stdin: {
        contents: `import { main } from './packages/${name}/src/main.ts';\nmain(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n`,
        resolveDir: root,
        sourcefile: `${name}.entry.ts`,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      target: 'node20',
      outfile: join(root, 'dist', `${name}.cjs`),
      define: { 'import.meta.url': '__talosImportMetaUrl', 'import.meta.dirname': '__dirname' },
      banner: { js: "const __talosImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
      legalComments: 'none',
      logLevel: 'error',
    }),
  ),
);
console.log(`built ${only.length || programs.length + 3} program(s) into dist/ in ${Date.now() - started} ms`);
