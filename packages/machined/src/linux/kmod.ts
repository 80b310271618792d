import { join } from 'node:path';
import { native } from './native.ts';
import { modulePlan, type ModuleIndex } from './modules.ts';

/**
 * Parameters a module is always loaded with. bonding and dummy make a device of their own when
 * loaded (bond0, dummy0) unless told not to; a link nobody asked for would be taken for the
 * machine's NIC (it sorts before eth0) and muddle the link statuses. Upstream loads them the same way.
 */
const MODULE_PARAMETERS: Readonly<Record<string, string>> = { bonding: 'max_bonds=0', dummy: 'numdummies=0' };

/** The parameters a module file (a path under /lib/modules/<release>) is loaded with. */
export function moduleParameters(rel: string): string {
  const name = rel.split('/').pop()?.replace(/\.ko(\.[a-z]+)?$/, '').replace(/-/g, '_') ?? '';
  return MODULE_PARAMETERS[name] ?? '';
}

/**
 * Loads modules (names or aliases) with their soft and hard dependencies from a modules directory.
 * Already-loaded modules are fine; returns the files actually loaded.
 */
export function loadModules(dir: string, index: ModuleIndex, wanted: readonly string[]): string[] {
  const loaded: string[] = [];
  for (const rel of modulePlan(index, wanted)) {
    try {
      native().finitModule(join(dir, rel), moduleParameters(rel));
      loaded.push(rel);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  return loaded;
}
