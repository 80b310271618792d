import { TimeServerId, TimeServerSpecType, type TimeServerSpecSpec } from '@talos-ts/machinery';
import type { Controller } from '@talos-ts/cosi';
import { createConfigSourceController, type ConfigSourceOptions, type LayeredConfig } from './config-source.ts';

/** Upstream's default NTP server. */
export const DEFAULT_TIME_SERVER = 'time.cloudflare.com';

/** network.TimeServerConfigController: the default server, the `ip=` NTP server, machine.time.servers. */
export function createTimeServerConfigController(options: ConfigSourceOptions = {}): Controller {
  return createConfigSourceController<TimeServerSpecSpec>({
    ...options,
    name: 'network.TimeServerConfigController',
    type: TimeServerSpecType,
    produce: (inputs) => {
      const out: LayeredConfig<TimeServerSpecSpec>[] = [{ id: TimeServerId, spec: { timeServers: [DEFAULT_TIME_SERVER], layer: 'default' } }];
      if (inputs.cmdline?.ntp.length) out.push({ id: TimeServerId, spec: { timeServers: inputs.cmdline.ntp, layer: 'cmdline' } });
      const servers = inputs.config?.config.machine.time?.servers;
      if (servers?.length) out.push({ id: TimeServerId, spec: { timeServers: servers, layer: 'configuration' } });
      return out;
    },
  });
}
