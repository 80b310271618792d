import { HostnameId, HostnameSpecType, splitFqdn, type HostnameSpecSpec } from '@talos-ts/machinery';
import type { Controller } from '@talos-ts/cosi';
import { createConfigSourceController, type ConfigSourceOptions, type LayeredConfig } from './config-source.ts';

/** Options of {@link createHostnameConfigController}. */
export interface HostnameConfigOptions extends ConfigSourceOptions {
  /** The platform's hostname when nothing names one (upstream: talos-xxx-yyy). */
  readonly defaultHostname: string;
}

/** network.HostnameConfigController: the default, `talos.hostname=`/`ip=` and machine config hostnames. */
export function createHostnameConfigController(options: HostnameConfigOptions): Controller {
  return createConfigSourceController<HostnameSpecSpec>({
    ...options,
    name: 'network.HostnameConfigController',
    type: HostnameSpecType,
    produce: (inputs) => {
      const out: LayeredConfig<HostnameSpecSpec>[] = [{ id: HostnameId, spec: { ...splitFqdn(options.defaultHostname), layer: 'default' } }];
      const cmd = inputs.cmdline?.hostname;
      if (cmd) out.push({ id: HostnameId, spec: { ...splitFqdn(cmd), layer: 'cmdline' } });
      const cfg = inputs.config?.config.machine.network?.hostname;
      if (cfg) out.push({ id: HostnameId, spec: { ...splitFqdn(cfg), layer: 'configuration' } });
      return out;
    },
  });
}
