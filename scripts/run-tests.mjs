#!/usr/bin/env node
// Runs every *.test.ts under packages/*/src and test/ with Node's own test runner (TypeScript via tsx).
// Arguments narrow the run to files whose path contains one of them.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const passthrough = process.argv.slice(2).filter((a) => a.startsWith('--'));
const files = [...walk(join(root, 'packages'), []), ...walk(join(root, 'test'), [])]
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error('no test files matched');
  process.exit(1);
}

// Process clusters and provisioned namespaces start the checkout's dist/ bundles when they exist;
// bundles older than the sources would test yesterday's code, so they are made again first (~1 s).
if (existsSync(join(root, 'dist', 'machined.cjs'))) {
  const built = spawnSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' });
  if (built.status !== 0) process.exit(built.status ?? 1);
}

const reporter = process.env.CI ? ['--test-reporter=spec'] : ['--test-reporter=spec'];
const res = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=2', '--test-timeout=300000', ...reporter, ...passthrough, ...files],
  { cwd: root, stdio: 'inherit' },
);
process.exit(res.status ?? 1);
