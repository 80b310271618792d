#!/usr/bin/env node
// Runs every packages/*/bench/*.bench.ts in its own process, one after another so they do not
// compete for the two cores, and prints the JSON figures each one writes to stdout.
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const filters = process.argv.slice(2);
let failed = false;
for (const pkg of readdirSync(join(root, 'packages')).sort()) {
  const dir = join(root, 'packages', pkg, 'bench');
  if (!existsSync(dir)) continue;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('.bench.ts')).sort()) {
    const rel = join('packages', pkg, 'bench', f);
    if (filters.length && !filters.some((x) => rel.includes(x))) continue;
    console.log(`# ${rel}`);
    const res = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', rel], { cwd: root, stdio: 'inherit' });
    if (res.status !== 0) failed = true;
  }
}
process.exit(failed ? 1 : 0);
