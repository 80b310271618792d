import { Code, TalosError, type Resource } from '@talos-ts/cosi';
import { loadConfig, type MachineConfig, type MachineConfigSpec } from '@talos-ts/machinery';

const cache = new WeakMap<object, MachineConfig>();

/**
 * The typed config inside a MachineConfig resource. Parsed once per stored spec: controllers all
 * read the same frozen spec object, so the cache is keyed by it.
 */
export function machineConfigOf(resource: Resource<MachineConfigSpec>): MachineConfig {
  const hit = cache.get(resource.spec);
  if (hit) return hit;
  const r = loadConfig(resource.spec.yaml, { filename: 'machineconfig' });
  if (r.error) throw new TalosError(Code.DataLoss, `stored machine config does not load: ${r.error.message}`);
  cache.set(resource.spec, r.value);
  return r.value;
}
