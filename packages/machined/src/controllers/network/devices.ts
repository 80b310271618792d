import { isIP } from 'node:net';
import type { MachineConfig, NetworkDevice, NetworkDeviceSelector, NetworkRoute } from '@talos-ts/machinery';

/** What a device selector can be matched against: the kernel's links (from LinkStatus). */
export interface SelectableLink {
  readonly name: string;
  readonly hardwareAddr: string;
  /** Physical: an ethernet link that is not a logical kind (vlan, bond, bridge, veth, …). */
  readonly physical: boolean;
}

function glob(pattern: string, value: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return re.test(value);
}

/**
 * The first link (by name) a selector matches; every field given must match. Only `hardwareAddr`
 * (glob) and `physical` can be evaluated: we do not collect bus paths, PCI ids, drivers or permanent
 * addresses yet, so a selector naming one of those matches nothing rather than the wrong link.
 */
export function selectLink(selector: NetworkDeviceSelector, links: readonly SelectableLink[]): string | undefined {
  if (selector.busPath !== undefined || selector.pciID !== undefined || selector.driver !== undefined || selector.permanentAddr !== undefined) return undefined;
  if (selector.hardwareAddr === undefined && selector.physical === undefined) return undefined;
  return [...links]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .find((l) => (selector.hardwareAddr === undefined || glob(selector.hardwareAddr, l.hardwareAddr)) && (selector.physical === undefined || selector.physical === l.physical))?.name;
}

/** A link the machine config configures: the interface itself or one of its VLANs. */
export interface ConfiguredLink {
  readonly linkName: string;
  readonly addresses: readonly string[];
  readonly routes: readonly NetworkRoute[];
  readonly dhcp: boolean;
  readonly dhcpOptions?: NetworkDevice['dhcpOptions'];
  readonly mtu?: number;
  readonly vip?: string;
  /** The device entry the link comes from (the parent for a VLAN). */
  readonly device: NetworkDevice;
  readonly vlanId?: number;
}

/**
 * The links `machine.network.interfaces[]` configures, VLANs as `<parent>.<id>`. An entry with a
 * deviceSelector names the link the selector picks among `links` (see {@link selectLink}); entries
 * that name no link and entries marked `ignore` are left out.
 */
export function configuredLinks(config: MachineConfig | undefined, links: readonly SelectableLink[] = []): ConfiguredLink[] {
  const out: ConfiguredLink[] = [];
  for (const entry of config?.config.machine.network?.interfaces ?? []) {
    const name = entry.interface ?? (entry.deviceSelector ? selectLink(entry.deviceSelector, links) : undefined);
    if (!name || entry.ignore) continue;
    const d: NetworkDevice = { ...entry, interface: name };
    out.push({
      linkName: name,
      addresses: [...(d.addresses ?? []), ...(d.cidr ? [d.cidr] : [])],
      routes: d.routes ?? [],
      dhcp: d.dhcp === true,
      ...(d.dhcpOptions ? { dhcpOptions: d.dhcpOptions } : {}),
      ...(d.mtu ? { mtu: d.mtu } : {}),
      ...(d.vip?.ip ? { vip: d.vip.ip } : {}),
      device: d,
    });
    for (const v of d.vlans ?? []) {
      out.push({
        linkName: `${d.interface}.${v.vlanId}`,
        addresses: [...(v.addresses ?? []), ...(v.cidr ? [v.cidr] : [])],
        routes: v.routes ?? [],
        dhcp: v.dhcp === true,
        ...(v.dhcpOptions ? { dhcpOptions: v.dhcpOptions } : {}),
        ...(v.mtu ? { mtu: v.mtu } : {}),
        ...(v.vip?.ip ? { vip: v.vip.ip } : {}),
        device: d,
        vlanId: v.vlanId,
      });
    }
  }
  return out;
}

/**
 * An address or CIDR as a canonical CIDR (`10.0.0.1` → `10.0.0.1/32`), or undefined when it is
 * neither. The config validator rejects bad values already; this guards the controllers anyway.
 */
export function toCidr(value: string): { cidr: string; family: 'inet4' | 'inet6' } | undefined {
  const [ip = '', prefix, ...rest] = value.split('/');
  const v = isIP(ip);
  if (v === 0 || rest.length > 0) return undefined;
  const bits = v === 4 ? 32 : 128;
  const n = prefix === undefined ? bits : /^\d+$/.test(prefix) ? Number(prefix) : NaN;
  if (!(n >= 0 && n <= bits)) return undefined;
  return { cidr: `${ip}/${n}`, family: v === 4 ? 'inet4' : 'inet6' };
}
