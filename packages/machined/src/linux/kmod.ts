import { join } from 'node:path';
import { native } from './native.ts';
import { modulePlan, type ModuleIndex } from './modules.ts';

/**
 * Loads modules (names or aliases) with their soft and hard dependencies from a modules directory.
 * Already-loaded modules are fine; returns the files actually loaded.
 */
export function loadModules(dir: string, index: ModuleIndex, wanted: readonly string[]): string[] {
  const loaded: string[] = [];
  for (const rel of modulePlan(index, wanted)) {
    try {
      native().finitModule(join(dir, rel), '');
      loaded.push(rel);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return loaded;
}
