// Every workspace package declares in its package.json what its sources import: no package may
// lean on another package's dependencies being hoisted to the root node_modules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const builtins = new Set(builtinModules);

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (/\.(ts|js|mjs|cjs)$/.test(name)) out.push(p);
  }
  return out;
}

/** The package a bare specifier names (`@scope/name/sub` → `@scope/name`), or undefined for relative paths and builtins. */
export function packageOf(specifier: string): string | undefined {
  if (specifier.startsWith('.') || specifier.startsWith('/') || specifier.startsWith('node:') || builtins.has(specifier.split('/')[0] ?? '')) return undefined;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

/** Specifiers of static imports, re-exports, dynamic imports and require() calls. */
function importsOf(text: string): string[] {
  const out: string[] = [];
  const patterns = [/^\s*(?:import|export)\s[^'"`;]*?from\s+['"]([^'"]+)['"]/gm, /^\s*import\s+['"]([^'"]+)['"]/gm, /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g, /\brequire\(\s*['"]([^'"]+)['"]\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) if (m[1]) out.push(m[1]);
  return out;
}

test('lint: every package declares each package its src imports (dependencies or devDependencies)', () => {
  const problems: string[] = [];
  for (const pkg of readdirSync(join(root, 'packages'))) {
    const dir = join(root, 'packages', pkg);
    const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name: string; dependencies?: Record<string, string>; devDependencies?: Record<string, string> };
    const declared = new Set([...Object.keys(manifest.dependencies ?? {}), ...Object.keys(manifest.devDependencies ?? {}), manifest.name]);
    for (const file of sources(join(dir, 'src'))) {
      for (const spec of importsOf(readFileSync(file, 'utf8'))) {
        const name = packageOf(spec);
        if (name !== undefined && !declared.has(name)) problems.push(`${relative(root, file)}: imports ${name}, not declared in packages/${pkg}/package.json`);
      }
    }
  }
  assert.deepEqual([...new Set(problems)], []);
});

test('lint: tsx is a development tool of the root, never a dependency of a package', () => {
  const offenders = readdirSync(join(root, 'packages')).filter((pkg) => {
    const m = JSON.parse(readFileSync(join(root, 'packages', pkg, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
    return m.dependencies?.['tsx'] !== undefined;
  });
  assert.deepEqual(offenders, []);
  const rootManifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  assert.ok(rootManifest.devDependencies?.['tsx']);
});

test('lint: the repository and every package carry the Apache-2.0 license', () => {
  assert.match(readFileSync(join(root, 'LICENSE'), 'utf8'), /Apache License\s+Version 2\.0/);
  for (const m of ['package.json', ...readdirSync(join(root, 'packages')).map((p) => join('packages', p, 'package.json'))]) {
    assert.equal((JSON.parse(readFileSync(join(root, m), 'utf8')) as { license?: string }).license, 'Apache-2.0', m);
  }
});
