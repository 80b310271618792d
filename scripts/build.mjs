#!/usr/bin/env node
// Bundles each Talos-TS program into one plain-JavaScript file under dist/ with esbuild: no
// TypeScript loader at run time, one file per program to ship in the image, smaller memory.
// Programs find their siblings (machined starts dist/apid.cjs, dist/trustd.cjs) by location.
import { build } from 'esbuild';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// The build's identity, shown by `talosctl version` (client) and the Version API (nodes): the git
// commit (with -dirty when the work tree has changes) and the time of the build.
function gitRevision() {
  try {
    const sha = execFileSync('git', ['rev-parse', '--short=8', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return dirty ? `${sha}-dirty` : sha;
  } catch {
    return 'unknown';
  }
}
// TALOS_TS_TAG stamps another release tag (talos-imager build --version); TALOS_TS_DIST writes the
// bundles elsewhere than dist/, so such a build leaves the checkout's own bundles alone.
const dist = process.env.TALOS_TS_DIST ?? join(root, 'dist');
const stamp = {
  ...(process.env.TALOS_TS_TAG ? { __TALOS_TS_TAG__: JSON.stringify(process.env.TALOS_TS_TAG) } : {}),
  __TALOS_TS_SHA__: JSON.stringify(process.env.TALOS_TS_SHA ?? gitRevision()),
  __TALOS_TS_BUILT__: JSON.stringify(process.env.TALOS_TS_BUILT ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z')),
};

const programs = [
  { name: 'talos-discovery', pkg: 'discovery' },
  // Started by `talosctl cluster create` inside a cluster's namespace to serve its loopback forwards.
  { name: 'talos-forwarder', pkg: 'provision', entry: 'host/forwarder.ts', fn: 'forwarderMain' },
  // A qemu node's VM supervisor: restarts QEMU on a guest reset, booting the install disk once it has one.
  { name: 'talos-vm-launcher', pkg: 'provision', entry: 'host/vm-launcher.ts', fn: 'vmLauncherMain' },
];
const only = process.argv.slice(2);
mkdirSync(dist, { recursive: true });
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
        outfile: join(dist, `${p.name}.mjs`),
        // Some dependencies still call require(); give the ESM bundle one.
        banner: { js: "import { createRequire as __talosRequire } from 'node:module'; const require = __talosRequire(import.meta.url);" },
        define: stamp,
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
      outfile: join(dist, `${name}.cjs`),
      define: { 'import.meta.url': '__talosImportMetaUrl', 'import.meta.dirname': '__dirname', ...stamp },
      banner: { js: "const __talosImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
      legalComments: 'none',
      logLevel: 'error',
    }),
  ),
);
// commander requires node:child_process at load for executable subcommands, which talosctl does
// not use: loading it cost ~6 ms of every talosctl start (cpu profile of `talosctl version`). The
// plugin defers that require to the first spawn; a commander without that line is left as it is.
const lazyChildProcessInCommander = {
  name: 'lazy-child-process-in-commander',
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const eager = "const childProcess = require('node:child_process');";
      if (!source.includes(eager)) return undefined;
      const lazy = "let childProcessModule; const childProcess = { spawn: (...a) => (childProcessModule ??= require('node:child_process')).spawn(...a) };";
      return { contents: source.replace(eager, lazy), loader: 'js' };
    });
  },
};

// talosctl is CommonJS too, for the same reasons and one more: started through its bin
// (packages/talosctl/bin/talosctl.js) it runs with a V8 code cache, which Node 20 offers for
// scripts only. The bin rebuilds the bundle when a source file listed in talosctl.inputs.json
// is newer than the bundle, so `npx talosctl` in a checkout never runs stale code.
if (only.length === 0 || only.includes('talosctl')) {
  const outfile = join(dist, 'talosctl.cjs');
  const result = await build({
    stdin: {
      contents: "import { main } from './packages/talosctl/src/main.ts';\nmain(process.argv.slice(2)).then((code) => { process.exitCode = code; });\n",
      resolveDir: root,
      sourcefile: 'talosctl.entry.ts',
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    absWorkingDir: root,
    metafile: true,
    define: { 'import.meta.url': '__talosImportMetaUrl', 'import.meta.dirname': '__dirname', ...stamp },
    banner: { js: "const __talosImportMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    legalComments: 'none',
    logLevel: 'error',
    charset: 'ascii',
    plugins: [lazyChildProcessInCommander],
  });
  // The bin reads the bundle as latin1 (much cheaper than decoding UTF-8); esbuild escapes
  // non-ASCII in strings but not in regular expression literals, so escape what is left.
  const text = readFileSync(outfile, 'utf8');
  if (/[\u0080-\uffff]/.test(text)) writeFileSync(outfile, text.replace(/[\u0080-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
  const inputs = Object.keys(result.metafile.inputs)
    .filter((f) => !f.includes('node_modules/') && existsSync(join(root, f)))
    .map((f) => relative(root, join(root, f)));
  writeFileSync(join(dist, 'talosctl.inputs.json'), `${JSON.stringify({ inputs: [...inputs, 'package-lock.json'] })}\n`);
  // A new bundle invalidates the old code cache; the bin writes a fresh one on its first run.
  rmSync(`${outfile}.cache`, { force: true });
  rmSync(`${outfile}.cache.covers`, { force: true });
  // The root help, printed by the bin itself for `talosctl --help|-h|help` without loading the
  // bundle: about 30 ms less per call (measured with packages/talosctl/bench/cli.bench.ts). The
  // root help is laid out by us, not wrapped to the terminal, so one text serves every width.
  const help = spawnSync(process.execPath, [outfile, '--help'], { encoding: 'utf8', env: { ...process.env, COLUMNS: '80' } });
  if (help.status !== 0 || !help.stdout.startsWith('A CLI for')) throw new Error(`talosctl --help failed while building: ${help.stderr}`);
  writeFileSync(join(dist, 'talosctl.help.txt'), help.stdout);
}
console.log(`built ${only.length || programs.length + 4} program(s) into ${dist} in ${Date.now() - started} ms`);
