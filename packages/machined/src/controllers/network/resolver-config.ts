import { ResolverId, ResolverSpecType, type ResolverSpecSpec } from '@talos-ts/machinery';
import type { Controller } from '@talos-ts/cosi';
import { createConfigSourceController, type ConfigSourceOptions, type LayeredConfig } from './config-source.ts';

/** Upstream's default resolvers. */
export const DEFAULT_RESOLVERS: readonly string[] = ['1.1.1.1', '8.8.8.8'];

/** network.ResolverConfigController: default resolvers, `ip=` DNS servers, machine.network.nameservers. */
export function createResolverConfigController(options: ConfigSourceOptions = {}): Controller {
  return createConfigSourceController<ResolverSpecSpec>({
    ...options,
    name: 'network.ResolverConfigController',
    type: ResolverSpecType,
    produce: (inputs) => {
      const out: LayeredConfig<ResolverSpecSpec>[] = [{ id: ResolverId, spec: { dnsServers: DEFAULT_RESOLVERS, layer: 'default' } }];
      if (inputs.cmdline?.dns.length) out.push({ id: ResolverId, spec: { dnsServers: inputs.cmdline.dns, layer: 'cmdline' } });
      const net = inputs.config?.config.machine.network;
      if (net?.nameservers?.length || net?.searchDomains?.length) {
        out.push({ id: ResolverId, spec: { dnsServers: net.nameservers ?? [], searchDomains: net.searchDomains ?? [], layer: 'configuration' } });
      }
      return out;
    },
  });
}
