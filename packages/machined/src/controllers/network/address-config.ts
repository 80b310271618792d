import { AddressSpecType, addressId, type AddressSpecSpec } from '@talos-ts/machinery';
import type { Controller } from '@talos-ts/cosi';
import { createConfigSourceController, type ConfigInputs, type ConfigSourceOptions, type LayeredConfig } from './config-source.ts';
import { configuredLinks, toCidr } from './devices.ts';

/** The addresses each source asks for: lo's 127.0.0.1/8 by default, `ip=` and the machine config. */
export function addressConfigs(inputs: ConfigInputs): LayeredConfig<AddressSpecSpec>[] {
  const out: LayeredConfig<AddressSpecSpec>[] = [
    { id: addressId('lo', '127.0.0.1/8'), spec: { address: '127.0.0.1/8', linkName: 'lo', family: 'inet4', scope: 'host', flags: 'permanent', layer: 'default' } },
  ];
  for (const l of inputs.cmdline?.links ?? []) {
    const c = l.address !== undefined ? toCidr(l.address) : undefined;
    if (!c) continue;
    out.push({ id: addressId(l.linkName, c.cidr), spec: { address: c.cidr, linkName: l.linkName, family: c.family, scope: 'global', flags: 'permanent', layer: 'cmdline' } });
  }
  for (const link of configuredLinks(inputs.config, inputs.links)) {
    for (const a of link.addresses) {
      const c = toCidr(a);
      if (!c) continue;
      out.push({
        id: addressId(link.linkName, c.cidr),
        spec: { address: c.cidr, linkName: link.linkName, family: c.family, scope: 'global', flags: 'permanent', layer: 'configuration' },
      });
    }
  }
  return out;
}

/** network.AddressConfigController: AddressSpecs per source into `network-config`. */
export function createAddressConfigController(options: ConfigSourceOptions = {}): Controller {
  return createConfigSourceController({ ...options, name: 'network.AddressConfigController', type: AddressSpecType, produce: addressConfigs });
}
