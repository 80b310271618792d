import { readFile } from 'node:fs/promises';
import { resolvePatch, type ConfigPatch } from '@talos-ts/machinery';
import { CliError } from './cli.ts';

/** Resolves `--patch`-style arguments (inline YAML/JSON or `@file`); the first bad one is a CliError. */
export async function resolvePatches(specs: readonly string[]): Promise<ConfigPatch[]> {
  const patches: ConfigPatch[] = [];
  for (const spec of specs) {
    const p = await resolvePatch(spec, { readFile: (path) => readFile(path) });
    if (p.error) throw new CliError(p.error.message);
    patches.push(p.value);
  }
  return patches;
}
