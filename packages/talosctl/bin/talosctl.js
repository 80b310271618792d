#!/usr/bin/env node
// talosctl's start file. It runs the CommonJS bundle (talosctl.cjs) through V8's code cache, so a
// command starts in about the time Node itself takes. The bundle is found beside the package
// (dist/, as `npm pack` ships it) or in the checkout's dist/ (`npm run build`); in a checkout it
// is (re)built first when missing or older than any source file it was built from. CommonJS and
// plain JavaScript on purpose: this file runs before any loader and must cost next to nothing.
'use strict';
const { existsSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const Module = require('node:module');
const { Script } = require('node:vm');

const packaged = join(__dirname, '..', 'dist', 'talosctl.cjs');
const checkout = join(__dirname, '..', '..', '..');
const file = existsSync(packaged) ? packaged : join(checkout, 'dist', 'talosctl.cjs');

// Stale: a source the bundle was built from (listed by the build) changed after the build.
// About 300 stat calls, ~1-2 ms; skipped when the bundle came with the package.
function stale() {
  let built;
  try {
    built = statSync(file).mtimeMs;
  } catch {
    return 'missing';
  }
  let inputs;
  try {
    inputs = JSON.parse(readFileSync(join(checkout, 'dist', 'talosctl.inputs.json'), 'utf8')).inputs;
  } catch {
    return 'built by an older build script';
  }
  for (const f of inputs) {
    try {
      if (statSync(join(checkout, f)).mtimeMs > built) return `${f} changed`;
    } catch {
      return `${f} is gone`;
    }
  }
  return undefined;
}

if (file !== packaged && process.env.TALOSCTL_NO_REBUILD !== '1') {
  const why = stale();
  if (why !== undefined) {
    process.stderr.write(`talosctl: building dist/talosctl.cjs (${why})\n`);
    const { spawnSync } = require('node:child_process');
    const r = spawnSync(process.execPath, [join(checkout, 'scripts', 'build.mjs'), 'talosctl'], { stdio: ['ignore', 2, 2] });
    if (r.status !== 0) {
      process.stderr.write('talosctl: the build failed (is `npm ci` done?)\n');
      process.exit(1);
    }
  }
}

// `talosctl --help` (and `-h`, `help`) prints the root help the build wrote beside the bundle,
// without loading the bundle: ~30 ms less. Anything else, or no help file, runs the bundle.
const argv = process.argv.slice(2);
if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help')) {
  let help;
  try {
    help = readFileSync(join(file, '..', 'talosctl.help.txt'), 'latin1');
  } catch {
    // An older build without the help file: the bundle prints it.
  }
  if (help !== undefined) {
    process.stdout.write(help);
    return;
  }
}

const cacheFile = `${file}.cache`;
const coversFile = `${cacheFile}.covers`;
let cachedData;
let covers = [];
try {
  cachedData = readFileSync(cacheFile);
  covers = readFileSync(coversFile, 'latin1').split('\n');
} catch {
  // No cache yet: this run compiles, and leaves one.
}
// esbuild writes ASCII only (non-ASCII is escaped), so latin1 reads the same text without the
// cost of UTF-8 decoding ~1 MB.
const script = new Script(Module.wrap(readFileSync(file, 'latin1')), cachedData ? { filename: file, cachedData } : { filename: file });
// V8 caches the functions compiled so far, so a cache written after `version --client` lacks the
// TLS client that `version` runs (measured: ~7% more CPU for `version` with such a cache). The
// cache is written again after the first run of each command and set of long flags, and then
// covers them; `covers` lists those already in it.
const key = usageKey(argv);
if (cachedData === undefined || script.cachedDataRejected || !covers.includes(key)) {
  const keys = cachedData === undefined || script.cachedDataRejected ? [key] : [...covers.filter((k) => k !== ''), key];
  // Where the directory is read-only the run simply goes on without a cache.
  process.once('exit', () => {
    try {
      const tmp = `${cacheFile}.${process.pid}`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
      writeFileSync(tmp, keys.join('\n'));
      renameSync(tmp, coversFile);
    } catch {
      // Read-only install: run without a cache.
    }
  });
}

/** The command word and the long flags of an argv (not their values): what decides the code run. */
function usageKey(args) {
  const valueFlags = ['--talosconfig', '--context', '-e', '--endpoints', '-n', '--nodes', '--cluster'];
  let word = '';
  const flags = new Set();
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') break;
    if (a.startsWith('--')) flags.add(a.split('=')[0]);
    if (a.startsWith('-')) {
      if (valueFlags.includes(a)) i++;
    } else if (word === '') word = a;
  }
  return [word, ...[...flags].sort()].join(' ');
}

const bundle = new Module(file, module);
bundle.filename = file;
bundle.paths = Module._nodeModulePaths(join(file, '..'));
script.runInThisContext()(bundle.exports, Module.createRequire(file), bundle, file, join(file, '..'));
