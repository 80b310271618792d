import { nlmsg, rtattr } from './netlink.ts';
import { NetlinkProtocol, NetlinkSocket, type NetlinkSocketOptions } from './netlink-socket.ts';
import { Code, TalosError } from '@talos-ts/cosi';
import { Expr, NfHook, NfProto, nftBatch, nftDeleteTable, nftError, type NftAddressSet, type NftBatchPlan, type NftChain, type NftRule } from './nftables.ts';

/** Upstream's KubeSpan kernel constants (pkg/machinery/constants). */
export const KubeSpanKernel = {
  linkName: 'kubespan',
  port: 51820,
  linkMtu: 1420,
  /** Marks WireGuard's own encrypted packets: they must not loop back into the link. */
  firewallMark: 0x20,
  /** Marks packets for KubeSpan peers: the policy rule sends them to the KubeSpan table. */
  forceFirewallMark: 0x40,
  firewallMask: 0x60,
  routingTable: 180,
  rulePriority: 32500,
  keepaliveSeconds: 25,
  /** Upstream's nftables table for all Talos chains (inet family). */
  nftTable: 'talos',
  preroutingChain: 'kubespan_prerouting',
  outgoingChain: 'kubespan_outgoing',
} as const;

/** Send buffer of the nf_tables socket: room for a transaction of about 40,000 IPv4 peer ranges. */
const NFT_SEND_BUFFER_BYTES = 8 << 20;

const chains: readonly NftChain[] = [
  { name: KubeSpanKernel.preroutingChain, type: 'filter', hook: NfHook.PREROUTING, priority: 0 },
  { name: KubeSpanKernel.outgoingChain, type: 'route', hook: NfHook.OUTPUT, priority: 0 },
];

/** Destination match per family: nfproto, then the network header's daddr in an interval set. */
function daddrIn(set: NftAddressSet): (Buffer | { set: NftAddressSet })[] {
  return set.family === 4
    ? [...Expr.nfproto(NfProto.IPV4), Expr.payloadNetwork(16, 4), { set }]
    : [...Expr.nfproto(NfProto.IPV6), Expr.payloadNetwork(24, 16), { set }];
}

/**
 * Upstream's two KubeSpan chains: packets WireGuard already marked pass untouched (the bypass that
 * keeps the tunnel's own UDP off the tunnel); loopback output passes; packets to routed peer
 * addresses get the force mark (keeping other mark bits) so the policy rule routes them into the
 * KubeSpan table. `routed` holds the addresses of peers traffic is routed to.
 */
export function kubeSpanRules(routed: readonly { family: 4 | 6; first: bigint; last: bigint }[], mtu: number = KubeSpanKernel.linkMtu): NftRule[] {
  const sets: NftAddressSet[] = [4, 6]
    .map((family) => ({ family: family as 4 | 6, ranges: routed.filter((r) => r.family === family) }))
    .filter((s) => s.ranges.length > 0);
  const { firewallMask, firewallMark, forceFirewallMark } = KubeSpanKernel;
  const bypass = [...Expr.markMatch(firewallMask, firewallMark), Expr.accept()];
  const force = (set: NftAddressSet) => [...daddrIn(set), ...Expr.markSet(~firewallMask >>> 0, forceFirewallMark), Expr.accept()];
  // MSS = MTU minus IP (20 or 40), TCP (20) and typical options (12), as upstream reckons it.
  const clamp = (set: NftAddressSet) => [...daddrIn(set), ...Expr.clampMss(mtu - (set.family === 4 ? 20 : 40) - 20 - 12)];
  return [
    { chain: KubeSpanKernel.preroutingChain, exprs: bypass },
    ...sets.map((s) => ({ chain: KubeSpanKernel.preroutingChain, exprs: force(s) })),
    { chain: KubeSpanKernel.outgoingChain, exprs: bypass },
    { chain: KubeSpanKernel.outgoingChain, exprs: [...Expr.oifname('lo'), Expr.accept()] },
    ...sets.map((s) => ({ chain: KubeSpanKernel.outgoingChain, exprs: clamp(s) })),
    ...sets.map((s) => ({ chain: KubeSpanKernel.outgoingChain, exprs: force(s) })),
  ];
}

/** The nf_tables plan that installs (rules given) or removes (rules omitted) the KubeSpan chains. */
export function kubeSpanNftPlan(routed?: readonly { family: 4 | 6; first: bigint; last: bigint }[], mtu?: number): NftBatchPlan {
  return { table: KubeSpanKernel.nftTable, chains, ...(routed ? { rules: kubeSpanRules(routed, mtu) } : {}) };
}

const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_NEWRULE = 32;
const RTM_DELRULE = 33;
const NLM_F_REQUEST = 0x1;
const NLM_F_ACK = 0x4;
const NLM_F_EXCL = 0x200;
const NLM_F_REPLACE = 0x100;
const NLM_F_CREATE = 0x400;
const AF_INET = 2;
const AF_INET6 = 10;
const FR_ACT_TO_TBL = 1;
const FRA_PRIORITY = 6;
const FRA_FWMARK = 10;
const FRA_TABLE = 15;
const FRA_FWMASK = 16;
const RTA_OIF = 4;
const RTA_PRIORITY = 6;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const RTPROT_STATIC = 4;
const RTN_UNICAST = 1;
const EEXIST = 17;
const ENOENT = 2;
const ESRCH = 3;
const EBUSY = 16;

const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};

/** fib_rule_hdr + attributes: `ip rule add fwmark 0x40/0x60 table 180 priority 32500` for one family. */
export function kubeSpanRuleMessage(family: 4 | 6): Buffer {
  const hdr = Buffer.alloc(12);
  hdr.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  hdr.writeUInt8(KubeSpanKernel.routingTable, 4);
  hdr.writeUInt8(FR_ACT_TO_TBL, 7);
  return Buffer.concat([
    hdr,
    rtattr(FRA_PRIORITY, u32(KubeSpanKernel.rulePriority)),
    rtattr(FRA_FWMARK, u32(KubeSpanKernel.forceFirewallMark)),
    rtattr(FRA_FWMASK, u32(KubeSpanKernel.firewallMask)),
    rtattr(FRA_TABLE, u32(KubeSpanKernel.routingTable)),
  ]);
}

/** rtmsg + attributes: the KubeSpan table's default route out of the link (metric 1, the link's MTU). */
export function kubeSpanRouteMessage(family: 4 | 6, linkIndex: number, mtu: number): Buffer {
  const rt = Buffer.alloc(12);
  rt.writeUInt8(family === 4 ? AF_INET : AF_INET6, 0);
  rt.writeUInt8(KubeSpanKernel.routingTable, 4);
  rt.writeUInt8(RTPROT_STATIC, 5);
  rt.writeUInt8(0, 6); // scope universe
  rt.writeUInt8(RTN_UNICAST, 7);
  return Buffer.concat([
    rt,
    rtattr(RTA_TABLE, u32(KubeSpanKernel.routingTable)),
    rtattr(RTA_OIF, u32(linkIndex)),
    rtattr(RTA_PRIORITY, u32(1)),
    rtattr(RTA_METRICS | 0x8000, rtattr(RTAX_MTU, u32(mtu))),
  ]);
}

/** Options of {@link KubeSpanKernelState}. */
export type KubeSpanKernelOptions = NetlinkSocketOptions;

/**
 * The KubeSpan plumbing that is not the WireGuard link itself: the nftables chains with the routed
 * peer addresses, the fwmark policy rules (IPv4 and IPv6) and the KubeSpan table's default routes.
 * Every call is idempotent; teardown leaves none of it (the `talos` table too, unless other chains
 * live in it).
 */
export class KubeSpanKernelState implements Disposable {
  readonly #nft: NetlinkSocket;
  readonly #route: NetlinkSocket;

  constructor(options: KubeSpanKernelOptions = {}) {
    // A transaction with thousands of peer ranges is several hundred KiB, past the default buffer.
    this.#nft = new NetlinkSocket(NetlinkProtocol.NETFILTER, { ...options, sendBufferBytes: NFT_SEND_BUFFER_BYTES });
    try {
      this.#route = new NetlinkSocket(NetlinkProtocol.ROUTE, options);
    } catch (err) {
      this.#nft[Symbol.dispose]();
      throw err;
    }
  }

  /** Replaces the KubeSpan chains' rules in one transaction (routed: the addresses to mark; mtu: the link's, for the MSS clamp). */
  applyFirewall(routed: readonly { family: 4 | 6; first: bigint; last: bigint }[], mtu: number = KubeSpanKernel.linkMtu): void {
    const { datagram, lastSeq } = nftBatch(kubeSpanNftPlan(routed, mtu), () => this.#nft.nextSeq());
    const errors = this.#nft.exchange(datagram, lastSeq);
    if (errors.length > 0) throw nftError(errors);
  }

  /** Adds the policy rules for both families (present ones are kept). */
  applyRules(): void {
    for (const family of [4, 6] as const) this.#rtnl(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, kubeSpanRuleMessage(family), [EEXIST]);
  }

  /** Sets the KubeSpan table's default routes through the link with `linkIndex`. */
  applyRoutes(linkIndex: number, mtu: number = KubeSpanKernel.linkMtu): void {
    for (const family of [4, 6] as const) this.#rtnl(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_REPLACE, kubeSpanRouteMessage(family, linkIndex, mtu), []);
  }

  /** Removes chains, table (when no one else uses it), rules and routes; missing pieces are fine. */
  teardown(linkIndex?: number): void {
    const { datagram, lastSeq } = nftBatch(kubeSpanNftPlan(), () => this.#nft.nextSeq());
    const errors = this.#nft.exchange(datagram, lastSeq);
    if (errors.length > 0) throw nftError(errors);
    const table = nftDeleteTable(KubeSpanKernel.nftTable, () => this.#nft.nextSeq());
    const tableErrors = this.#nft.exchange(table.datagram, table.lastSeq, [EBUSY, ENOENT]);
    if (tableErrors.length > 0) throw nftError(tableErrors);
    for (const family of [4, 6] as const) {
      // A rule deletion removes one match per call; two rounds cover a duplicate added by hand.
      this.#rtnl(RTM_DELRULE, 0, kubeSpanRuleMessage(family), [ENOENT]);
      this.#rtnl(RTM_DELRULE, 0, kubeSpanRuleMessage(family), [ENOENT]);
      if (linkIndex !== undefined) this.#rtnl(RTM_DELROUTE, 0, kubeSpanRouteMessage(family, linkIndex, KubeSpanKernel.linkMtu), [ENOENT, ESRCH]);
    }
  }

  #rtnl(type: number, flags: number, body: Buffer, tolerate: readonly number[]): void {
    const seq = this.#route.nextSeq();
    const errors = this.#route.exchange(nlmsg(type, NLM_F_REQUEST | NLM_F_ACK | flags, seq, body), seq, tolerate);
    if (errors.length > 0) throw new TalosError(Code.Internal, `rtnetlink request ${type} failed: errno ${errors[0]?.errno}`);
  }

  [Symbol.dispose](): void {
    this.#nft[Symbol.dispose]();
    this.#route[Symbol.dispose]();
  }
}
