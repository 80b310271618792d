import { isIP } from 'node:net';
import { RouteSpecType, routeId, type RouteSpecSpec } from '@talos-ts/machinery';
import type { Controller } from '@talos-ts/cosi';
import { createConfigSourceController, type ConfigInputs, type ConfigSourceOptions, type LayeredConfig } from './config-source.ts';
import { configuredLinks, toCidr } from './devices.ts';

/** Upstream's metric for routes that name none. */
export const DEFAULT_ROUTE_METRIC = 1024;

function route(spec: Omit<RouteSpecSpec, 'table' | 'type' | 'flags' | 'protocol'>): LayeredConfig<RouteSpecSpec> {
  const full: RouteSpecSpec = { ...spec, table: 'main', type: 'unicast', flags: '', protocol: 'static' };
  return { id: routeId(full), spec: full };
}

/** The routes each source asks for: the `ip=` gateway as a default route, and machine config routes. */
export function routeConfigs(inputs: ConfigInputs): LayeredConfig<RouteSpecSpec>[] {
  const out: LayeredConfig<RouteSpecSpec>[] = [];
  for (const l of inputs.cmdline?.links ?? []) {
    if (l.gateway === undefined) continue;
    const family = isIP(l.gateway) === 6 ? 'inet6' : 'inet4';
    out.push(route({ family, dst: '', src: '', gateway: l.gateway, outLinkName: l.linkName, priority: DEFAULT_ROUTE_METRIC, scope: 'global', layer: 'cmdline' }));
  }
  for (const link of configuredLinks(inputs.config, inputs.links)) {
    for (const r of link.routes) {
      const dst = r.network ? toCidr(r.network) : undefined;
      if (r.network && !dst) continue;
      const isDefault = !dst || dst.cidr === '0.0.0.0/0' || dst.cidr === '::/0';
      const family = dst?.family ?? (r.gateway && isIP(r.gateway) === 6 ? 'inet6' : 'inet4');
      out.push(
        route({
          family,
          dst: isDefault ? '' : (dst?.cidr ?? ''),
          src: r.source ?? '',
          gateway: r.gateway ?? '',
          outLinkName: link.linkName,
          priority: r.metric ?? DEFAULT_ROUTE_METRIC,
          scope: r.gateway ? 'global' : 'link',
          ...(r.mtu ? { mtu: r.mtu } : {}),
          layer: 'configuration',
        }),
      );
    }
  }
  return out;
}

/** network.RouteConfigController: RouteSpecs per source into `network-config`. */
export function createRouteConfigController(options: ConfigSourceOptions = {}): Controller {
  return createConfigSourceController({ ...options, name: 'network.RouteConfigController', type: RouteSpecType, produce: routeConfigs });
}
