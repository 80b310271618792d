import { BlockList, isIP } from 'node:net';
import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  EtcdConfigId,
  EtcdConfigType,
  EtcdSpecId,
  EtcdSpecType,
  HostnameId,
  HostnameStatusType,
  NamespaceName,
  NodeAddressFilterNoK8s,
  NodeAddressId,
  NodeAddressType,
  nodeIps,
  type EtcdConfigSpec,
  type EtcdSpecSpec,
  type HostnameStatusSpec,
  type NodeAddressSpec,
} from '@talos-ts/machinery';

const family = (ip: string): 'ipv4' | 'ipv6' => (isIP(ip) === 6 ? 'ipv6' : 'ipv4');

/**
 * Keeps the IPs a subnet filter selects, as upstream's etcd filters do: entries are CIDRs or bare
 * IPs, those starting with `!` exclude; an IP is kept when it matches an including entry (any, if
 * there are none) and no excluding one. Entries that do not parse are ignored (validation rejects
 * them in the config).
 */
export function filterIps(ips: readonly string[], filters: readonly string[]): string[] {
  const include = new BlockList();
  const exclude = new BlockList();
  let includes = 0;
  for (const f of filters) {
    const negative = f.startsWith('!');
    const [ip = '', prefix] = (negative ? f.slice(1) : f).split('/');
    const v = isIP(ip);
    if (v === 0) continue;
    const bits = prefix === undefined ? (v === 4 ? 32 : 128) : Number(prefix);
    if (!Number.isInteger(bits) || bits < 0 || bits > (v === 4 ? 32 : 128)) continue;
    (negative ? exclude : include).addSubnet(ip, bits, family(ip));
    if (!negative) includes++;
  }
  return ips.filter((ip) => isIP(ip) !== 0 && (includes === 0 || include.check(ip, family(ip))) && !exclude.check(ip, family(ip)));
}

/** Options of {@link EtcdSpecController}. */
export interface EtcdSpecOptions {
  /**
   * The node's only address of its own, when it runs on a network it does not own (container mode
   * on the host's network, as the process tests run several nodes): the host's addresses are not
   * the node's, so etcd advertises and listens on this one. Absent where machined owns the network:
   * the addresses come from NodeAddress.
   */
  readonly pinnedAddress?: string;
}

/**
 * etcd.SpecController: what the local etcd member starts with. Its advertised address is the first
 * routed node address (without the Kubernetes networks and the VIPs), or every current address
 * within `cluster.etcd.advertisedSubnets`; it listens everywhere, or on loopback and the routed
 * addresses within `cluster.etcd.listenSubnets`. No spec until there is an address to advertise.
 */
export class EtcdSpecController implements Controller {
  readonly name = 'etcd.SpecController';
  readonly inputs = [
    { namespace: NamespaceName.etcd, type: EtcdConfigType, id: EtcdConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: NodeAddressType, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: EtcdSpecType, kind: 'exclusive' as const }];
  readonly #options: EtcdSpecOptions;
  #warned = false;

  constructor(options: EtcdSpecOptions = {}) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const pointer = { namespace: NamespaceName.etcd, type: EtcdSpecType, id: EtcdSpecId };
    for await (const _ of ctx.changes()) {
      const config = ctx.find<EtcdConfigSpec>({ namespace: NamespaceName.etcd, type: EtcdConfigType, id: EtcdConfigId })?.spec;
      const hostname = ctx.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId })?.spec;
      if (!config) {
        // Not a control plane (any more): no etcd to describe.
        if (ctx.find(pointer)) ctx.destroy(pointer);
        continue;
      }
      if (!hostname) continue;
      const addresses = this.#options.pinnedAddress !== undefined ? pinned(this.#options.pinnedAddress) : this.#fromNodeAddresses(ctx, config);
      if (!addresses) continue;
      const spec: EtcdSpecSpec = { name: hostname.hostname, ...addresses, image: config.image, extraArgs: config.extraArgs };
      ctx.modify<EtcdSpecSpec>(pointer, spec, (d) => {
        d.spec = spec;
      });
    }
  }

  #fromNodeAddresses(ctx: ControllerContext, config: EtcdConfigSpec): Addresses | undefined {
    const ips = (id: string): string[] | undefined => {
      const r = ctx.find<NodeAddressSpec>({ namespace: NamespaceName.network, type: NodeAddressType, id });
      return r ? nodeIps(r.spec) : undefined;
    };
    let routed = ips(`${NodeAddressId.routed}-${NodeAddressFilterNoK8s}`);
    let current = ips(`${NodeAddressId.current}-${NodeAddressFilterNoK8s}`);
    if (!routed || !current) return undefined;
    if (routed.length === 0) {
      // Every routed address lies in the pod or service networks (a node network inside the default
      // 10.96.0.0/12, as local test clusters often are). Upstream's etcd would wait forever; no pod
      // or service address can exist on a node without a kubelet, so the unfiltered ones are used.
      const all = ips(NodeAddressId.routed) ?? [];
      if (all.length === 0) return undefined;
      if (!this.#warned) ctx.logger.warn('every node address is inside the Kubernetes pod or service networks; etcd advertises them anyway', { addresses: all });
      this.#warned = true;
      routed = all;
      current = ips(NodeAddressId.current) ?? all;
    }
    const excluded = config.advertiseExcludeSubnets.map((c) => `!${c}`);
    // Without advertisedSubnets etcd advertises one address, the first routed one; with them, every
    // current address they select.
    const advertisedAddresses =
      config.advertiseValidSubnets.length === 0
        ? filterIps(routed, ['0.0.0.0/0', '::/0', ...excluded]).slice(0, 1)
        : filterIps(current, [...config.advertiseValidSubnets, ...excluded]);
    const listen = [...config.listenValidSubnets, ...config.listenExcludeSubnets.map((c) => `!${c}`)];
    const listenPeerAddresses = listen.length > 0 ? filterIps(routed, listen) : ['0.0.0.0'];
    const listenClientAddresses = listen.length > 0 ? ['127.0.0.1', ...listenPeerAddresses] : ['0.0.0.0'];
    if (advertisedAddresses.length === 0 || listenPeerAddresses.length === 0) return undefined;
    return { advertisedAddresses, listenPeerAddresses, listenClientAddresses };
  }
}

type Addresses = Pick<EtcdSpecSpec, 'advertisedAddresses' | 'listenPeerAddresses' | 'listenClientAddresses'>;

function pinned(address: string): Addresses {
  return { advertisedAddresses: [address], listenPeerAddresses: [address], listenClientAddresses: [address] };
}
