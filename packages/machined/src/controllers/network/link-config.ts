import { LinkSpecType, type LinkSpecSpec } from '@talos-ts/machinery';
import type { Controller } from '@talos-ts/cosi';
import { createConfigSourceController, type ConfigInputs, type ConfigSourceOptions, type LayeredConfig } from './config-source.ts';
import { configuredLinks } from './devices.ts';

const base = { logical: false, up: true, mtu: 0, kind: '', type: 'ether' } as const;

/**
 * The links each source asks for: lo up by default, the `ip=` links up, and from the machine
 * config every named interface up (with its MTU), its VLANs, bonds, bridges and dummies as logical
 * links, and the bond or bridge members enslaved to them.
 */
export function linkConfigs(inputs: ConfigInputs): LayeredConfig<LinkSpecSpec>[] {
  const out: LayeredConfig<LinkSpecSpec>[] = [{ id: 'lo', spec: { ...base, name: 'lo', type: 'loopback', layer: 'default' } }];
  for (const l of inputs.cmdline?.links ?? []) out.push({ id: l.linkName, spec: { ...base, name: l.linkName, layer: 'cmdline' } });
  const members: LayeredConfig<LinkSpecSpec>[] = [];
  for (const link of configuredLinks(inputs.config, inputs.links)) {
    const d = link.device;
    const mtu = link.mtu ?? 0;
    const layer = 'configuration' as const;
    if (link.vlanId !== undefined) {
      out.push({
        id: link.linkName,
        spec: { ...base, name: link.linkName, logical: true, mtu, kind: 'vlan', parentName: d.interface ?? '', vlan: { vlanID: link.vlanId, vlanProtocol: '802.1q' }, layer },
      });
      continue;
    }
    if (d.bond) {
      out.push({
        id: link.linkName,
        spec: { ...base, name: link.linkName, logical: true, mtu, kind: 'bond', bondMaster: { mode: d.bond.mode ?? 'balance-rr', ...(d.bond.miimon !== undefined ? { miimon: d.bond.miimon } : {}) }, layer },
      });
      for (const m of d.bond.interfaces ?? []) members.push({ id: m, spec: { ...base, name: m, masterName: link.linkName, layer } });
    } else if (d.bridge) {
      out.push({ id: link.linkName, spec: { ...base, name: link.linkName, logical: true, mtu, kind: 'bridge', layer } });
      for (const m of d.bridge.interfaces) members.push({ id: m, spec: { ...base, name: m, bridgeSlave: { masterName: link.linkName }, layer } });
    } else if (d.dummy) {
      out.push({ id: link.linkName, spec: { ...base, name: link.linkName, logical: true, mtu, kind: 'dummy', layer } });
    } else {
      out.push({ id: link.linkName, spec: { ...base, name: link.linkName, mtu, layer } });
    }
  }
  // A member named as its own interface too keeps that entry's MTU and gains the master.
  for (const m of members) {
    const i = out.findIndex((o) => o.id === m.id && o.spec.layer === 'configuration');
    const own = i >= 0 ? out[i] : undefined;
    if (own) out[i] = { id: m.id, spec: { ...own.spec, ...(m.spec.masterName ? { masterName: m.spec.masterName } : {}), ...(m.spec.bridgeSlave ? { bridgeSlave: m.spec.bridgeSlave } : {}) } };
    else out.push(m);
  }
  return out;
}

/** network.LinkConfigController: LinkSpecs per source into `network-config`. */
export function createLinkConfigController(options: ConfigSourceOptions = {}): Controller {
  return createConfigSourceController({ ...options, name: 'network.LinkConfigController', type: LinkSpecType, produce: linkConfigs });
}
