import { OperatorSpecType, operatorId, type OperatorSpecSpec } from '@talos-ts/machinery';
import type { Controller } from '@talos-ts/cosi';
import { createConfigSourceController, type ConfigInputs, type ConfigSourceOptions, type LayeredConfig } from './config-source.ts';
import { configuredLinks } from './devices.ts';
import { DEFAULT_ROUTE_METRIC } from './route-config.ts';

/**
 * The operators each source asks for: DHCPv4 for `ip=dhcp` (first link), `ip=<link>:dhcp` and
 * `ip=…:<link>:dhcp`; DHCPv4/DHCPv6 for config links with `dhcp: true` (dhcpOptions.ipv4/ipv6 pick the
 * families, v4 by default); a VIP operator for links with `vip.ip`.
 */
export function operatorConfigs(inputs: ConfigInputs): LayeredConfig<OperatorSpecSpec>[] {
  const out: LayeredConfig<OperatorSpecSpec>[] = [];
  for (const l of inputs.cmdline?.links ?? []) {
    if (!l.dhcp) continue;
    out.push({ id: operatorId('dhcp4', l.linkName), spec: { operator: 'dhcp4', linkName: l.linkName, requireUp: true, dhcp4: { routeMetric: DEFAULT_ROUTE_METRIC }, layer: 'cmdline' } });
  }
  for (const link of configuredLinks(inputs.config, inputs.links)) {
    const routeMetric = link.dhcpOptions?.routeMetric ?? DEFAULT_ROUTE_METRIC;
    const layer = 'configuration' as const;
    if (link.dhcp && link.dhcpOptions?.ipv4 !== false) {
      out.push({ id: operatorId('dhcp4', link.linkName), spec: { operator: 'dhcp4', linkName: link.linkName, requireUp: true, dhcp4: { routeMetric }, layer } });
    }
    if (link.dhcp && link.dhcpOptions?.ipv6 === true) {
      out.push({ id: operatorId('dhcp6', link.linkName), spec: { operator: 'dhcp6', linkName: link.linkName, requireUp: true, dhcp6: { routeMetric }, layer } });
    }
    if (link.vip) {
      out.push({ id: operatorId('vip', link.linkName), spec: { operator: 'vip', linkName: link.linkName, requireUp: true, vip: { ip: link.vip, gratuitousARP: true }, layer } });
    }
  }
  return out;
}

/** network.OperatorConfigController: OperatorSpecs per source into `network-config`. */
export function createOperatorConfigController(options: ConfigSourceOptions = {}): Controller {
  return createConfigSourceController({ ...options, name: 'network.OperatorConfigController', type: OperatorSpecType, produce: operatorConfigs });
}
