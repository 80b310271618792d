import { isIP } from 'node:net';
import type { MachineConfig, NetworkDevice, NetworkRoute } from '@talos-ts/machinery';

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
 * The links `machine.network.interfaces[]` configures, VLANs as `<parent>.<id>`. Entries without an
 * interface name (deviceSelector) and entries marked `ignore` are left out: selectors need the link
 * hardware data we do not collect yet.
 */
export function configuredLinks(config: MachineConfig | undefined): ConfiguredLink[] {
  const out: ConfiguredLink[] = [];
  for (const d of config?.config.machine.network?.interfaces ?? []) {
    if (!d.interface || d.ignore) continue;
    out.push({
      linkName: d.interface,
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
