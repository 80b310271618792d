import { BlockList, isIP } from 'node:net';
import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  AddressStatusType,
  LinkStatusType,
  NamespaceName,
  NodeAddressFilterType,
  NodeAddressId,
  NodeAddressType,
  type AddressStatusSpec,
  type LinkStatusSpec,
  type NodeAddressFilterSpec,
  type NodeAddressSpec,
} from '@talos-ts/machinery';

function subnets(cidrs: readonly string[]): BlockList {
  const b = new BlockList();
  for (const c of cidrs) {
    const [ip = '', p] = c.split('/');
    const v = isIP(ip);
    if (v === 0) continue;
    b.addSubnet(ip, Number(p ?? (v === 4 ? 32 : 128)), v === 4 ? 'ipv4' : 'ipv6');
  }
  return b;
}

const notNodeAddresses = subnets(['127.0.0.0/8', '169.254.0.0/16', '::1/128', 'fe80::/10']);
const ipOf = (cidr: string): string => cidr.split('/')[0] ?? cidr;
const familyOf = (ip: string): 'ipv4' | 'ipv6' => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/** Upstream's v1 order: IPv4 before IPv6, then by address bytes; stable for equal keys. */
export function sortAddresses(cidrs: Iterable<string>): string[] {
  const key = (c: string): string => {
    const ip = ipOf(c);
    if (isIP(ip) === 4) return `4:${ip.split('.').map((x) => x.padStart(3, '0')).join('.')}`;
    return `6:${ip}`;
  };
  return [...new Set(cidrs)].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
}

/** Keeps the addresses a filter includes (all when it lists none) and does not exclude. */
export function filterAddresses(cidrs: readonly string[], f: NodeAddressFilterSpec): string[] {
  const inc = subnets(f.includeSubnets);
  const exc = subnets(f.excludeSubnets);
  return cidrs.filter((c) => {
    const ip = ipOf(c);
    const fam = familyOf(ip);
    return (f.includeSubnets.length === 0 || inc.check(ip, fam)) && !exc.check(ip, fam);
  });
}

/**
 * network.NodeAddressController: the node's own addresses from the kernel's. `current` is every
 * global address not on loopback and not link-local; `routed` leaves out links that do not route to
 * other nodes (WireGuard/KubeSpan); `default` is the first current address, kept while it exists so it
 * does not flap; `accumulative` keeps everything seen since boot. Each NodeAddressFilter adds
 * `<id>-<filter>` variants.
 */
export class NodeAddressController implements Controller {
  readonly name = 'network.NodeAddressController';
  readonly inputs = [
    { namespace: NamespaceName.network, type: AddressStatusType, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: LinkStatusType, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: NodeAddressFilterType, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: NodeAddressType, kind: 'exclusive' as const }];

  async run(ctx: ControllerContext): Promise<void> {
    const accumulative = new Set<string>();
    let defaultAddress: string | undefined;
    for await (const _ of ctx.changes()) {
      const links = new Map(ctx.list<LinkStatusSpec>({ namespace: NamespaceName.network, type: LinkStatusType }).map((l) => [l.metadata.id, l.spec]));
      const current: string[] = [];
      const routed: string[] = [];
      for (const a of ctx.list<AddressStatusSpec>({ namespace: NamespaceName.network, type: AddressStatusType })) {
        const link = links.get(a.spec.linkName);
        if (a.spec.scope !== 'global' || link?.type === 'loopback' || a.spec.flags.includes('tentative')) continue;
        const ip = ipOf(a.spec.address);
        if (notNodeAddresses.check(ip, familyOf(ip))) continue;
        current.push(a.spec.address);
        if (link?.kind !== 'wireguard') routed.push(a.spec.address);
      }
      const sorted = sortAddresses(current);
      for (const c of sorted) accumulative.add(c);
      if (defaultAddress === undefined || !sorted.includes(defaultAddress)) defaultAddress = sorted[0];
      const sets: [string, string[]][] = [
        [NodeAddressId.current, sorted],
        [NodeAddressId.routed, sortAddresses(routed)],
        [NodeAddressId.accumulative, sortAddresses(accumulative)],
        [NodeAddressId.default, defaultAddress === undefined ? [] : [defaultAddress]],
      ];
      const produced = new Set<string>();
      const write = (id: string, addresses: string[]): void => {
        produced.add(id);
        const spec: NodeAddressSpec = { addresses, sortAlgorithm: 'v1' };
        ctx.modify<NodeAddressSpec>({ namespace: NamespaceName.network, type: NodeAddressType, id }, spec, (d) => {
          d.spec = spec;
        });
      };
      for (const [id, addresses] of sets) write(id, addresses);
      for (const f of ctx.list<NodeAddressFilterSpec>({ namespace: NamespaceName.network, type: NodeAddressFilterType })) {
        for (const [id, addresses] of sets) write(`${id}-${f.metadata.id}`, filterAddresses(addresses, f.spec));
      }
      for (const r of ctx.list({ namespace: NamespaceName.network, type: NodeAddressType })) {
        if (r.metadata.owner === this.name && !produced.has(r.metadata.id)) ctx.destroy({ namespace: NamespaceName.network, type: NodeAddressType, id: r.metadata.id });
      }
    }
  }
}
