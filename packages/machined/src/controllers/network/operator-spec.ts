import { removeUnproduced, type Clock, type Controller, type ControllerContext, type Kind } from '@talos-ts/cosi';
import {
  AddressSpecType,
  AddressStatusType,
  HostnameId,
  HostnameSpecType,
  HostnameStatusType,
  LinkSpecType,
  LinkStatusType,
  NamespaceName,
  OperatorSpecType,
  ResolverId,
  ResolverSpecType,
  RouteSpecType,
  TimeServerId,
  TimeServerSpecType,
  addressId,
  routeId,
  type HostnameStatusSpec,
  type LinkStatusSpec,
  type OperatorSpecSpec,
} from '@talos-ts/machinery';
import { Dhcp4Client, type Dhcp4Transport } from '../../operators/dhcp4/client.ts';
import { Dhcp6Client } from '../../operators/dhcp6/client.ts';
import { dhcp4Specs, dhcp6Specs, type OperatorSpecs } from '../../operators/specs.ts';

/** Opens a DHCP client's way onto a link (on a node: linux/dhcp4-socket.ts in the node's namespace). */
export type OpenDhcpTransport = (operator: 'dhcp4' | 'dhcp6', ifname: string, hardwareAddress: Buffer) => Dhcp4Transport;

/** Options of {@link OperatorSpecController}. */
export interface OperatorSpecControllerOptions {
  readonly openTransport: OpenDhcpTransport;
  /** Retransmission timings handed to the clients; tests shorten them. */
  readonly client?: { readonly initialRetryMs?: number; readonly maxRetryMs?: number; readonly maxRenewRetryMs?: number };
  /** The clients' clock; the runtime's by default (tests move a fake one to reach lease expiry). */
  readonly clock?: Clock;
  /** Wait before retrying a link whose transport could not be opened. */
  readonly retryMs?: number;
}

/** One operator at work on a link. */
interface Running {
  readonly key: string;
  readonly client: Dhcp4Client | Dhcp6Client;
  /** What its lease contributes now; undefined while it holds none. */
  specs: OperatorSpecs | undefined;
  /** The node's name (`host.domain`) the DHCPv4 client sends (options 12, 15); undefined: none yet. */
  sentHostname: string | undefined;
}

const outputTypes = [AddressSpecType, RouteSpecType, LinkSpecType, HostnameSpecType, ResolverSpecType, TimeServerSpecType] as const;
const configKind = (type: string): Kind => ({ namespace: NamespaceName.networkConfig, type });

/** Upstream treats a link as usable by an operator when its operational state is up or unknown. */
function linkUp(l: LinkStatusSpec): boolean {
  return l.operationalState === 'up' || l.operationalState === 'unknown';
}

/**
 * network.OperatorSpecController: runs a DHCPv4 or DHCPv6 client for every merged OperatorSpec whose
 * link exists (and is up when the spec requires it), and publishes each lease as Address, Route,
 * Link (MTU), Hostname, Resolver and TimeServer specs at the `operator` layer in `network-config`,
 * with upstream's ids `<operator>/<link>/<id>`. An expired lease or a removed operator takes its
 * specs away; a stopped client releases its lease. VIP operators are not run here yet.
 */
export class OperatorSpecController implements Controller {
  readonly name = 'network.OperatorSpecController';
  readonly inputs = [
    { namespace: NamespaceName.network, type: OperatorSpecType, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: LinkStatusType, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
    // The renewal that carries a new hostname is unicast from the leased address: it waits for it.
    { namespace: NamespaceName.network, type: AddressStatusType, kind: 'weak' as const },
  ];
  readonly outputs = outputTypes.map((type) => ({ type, kind: 'shared' as const }));
  readonly #o: OperatorSpecControllerOptions;

  constructor(options: OperatorSpecControllerOptions) {
    this.#o = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const running = new Map<string, Running>();
    const skipped = new Set<string>();
    try {
      for await (const _ of ctx.changes()) {
        const links = new Map(ctx.list<LinkStatusSpec>({ namespace: NamespaceName.network, type: LinkStatusType }).map((l) => [l.metadata.id, l.spec]));
        const wanted = new Map<string, { spec: OperatorSpecSpec; link: LinkStatusSpec }>();
        for (const op of ctx.list<OperatorSpecSpec>({ namespace: NamespaceName.network, type: OperatorSpecType })) {
          const spec = op.spec;
          if (spec.operator === 'vip') {
            if (!skipped.has(op.metadata.id)) ctx.logger.warn('VIP operator not implemented; ignored', { operator: op.metadata.id });
            skipped.add(op.metadata.id);
            continue;
          }
          const link = links.get(spec.linkName);
          if (!link || (spec.requireUp && !linkUp(link))) continue;
          wanted.set(op.metadata.id, { spec, link });
        }

        for (const [id, r] of running) {
          const w = wanted.get(id);
          if (w && r.key === keyOf(w.spec, w.link)) continue;
          running.delete(id);
          await r.client.stop();
          ctx.logger.info('operator stopped', { operator: id });
        }

        for (const [id, { spec, link }] of wanted) {
          if (running.has(id)) continue;
          const started = this.#start(ctx, id, spec, link);
          if (started) running.set(id, started);
          else ctx.requeueAfter(this.#o.retryMs ?? 5000);
        }

        const hostname = ctx.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId })?.spec;
        const onLinks = new Set(ctx.list({ namespace: NamespaceName.network, type: AddressStatusType }).map((a) => a.metadata.id));
        for (const r of running.values()) sendHostname(r, hostname, onLinks);

        publish(ctx, this.name, running);
      }
    } finally {
      // The runtime is stopping: every lease is released (DHCPRELEASE) before the loop returns.
      await Promise.all([...running.values()].map((r) => r.client.stop()));
    }
  }

  #start(ctx: ControllerContext, id: string, spec: OperatorSpecSpec, link: LinkStatusSpec): Running | undefined {
    const kind = spec.operator === 'dhcp6' ? 'dhcp6' : 'dhcp4';
    const logger = ctx.logger.child({ operator: id });
    let transport: Dhcp4Transport;
    try {
      transport = this.#o.openTransport(kind, spec.linkName, Buffer.from(link.hardwareAddr.replace(/:/g, ''), 'hex'));
    } catch (err) {
      logger.warn('cannot open the DHCP socket; retrying', { error: String(err) });
      return undefined;
    }
    const timings = this.#o.client ?? {};
    const options = { linkName: spec.linkName, routeMetric: (spec.dhcp4 ?? spec.dhcp6)?.routeMetric ?? 1024 };
    const r: { -readonly [K in keyof Running]: Running[K] } = { key: keyOf(spec, link), client: undefined as never, specs: undefined, sentHostname: undefined };
    const onLease = (lease: OperatorSpecs | undefined): void => {
      r.specs = lease;
      // Publishing happens on the controller's own loop.
      ctx.requeueAfter(0);
    };
    if (kind === 'dhcp4') {
      r.client = new Dhcp4Client({
        transport,
        clock: this.#o.clock ?? ctx.clock,
        logger,
        ...timings,
        onEvent: (e) => onLease(e.type === 'bound' || e.type === 'renewed' ? dhcp4Specs(e.lease, options) : undefined),
      });
    } else {
      r.client = new Dhcp6Client({
        transport,
        clock: this.#o.clock ?? ctx.clock,
        logger,
        ...timings,
        onEvent: (e) => onLease(e.type === 'bound' || e.type === 'renewed' ? dhcp6Specs(e.lease, options) : undefined),
      });
    }
    r.client.start();
    logger.info('operator started', { link: spec.linkName });
    return r;
  }
}

/**
 * The node's hostname goes to the DHCPv4 server once the first lease is bound, as upstream's
 * operator does: the first exchange asks the server for a name instead; from then on the node's
 * name is sent (a renewal right away, once the leased address is on the link, then every
 * exchange), unless it is the one this lease gave.
 */
function sendHostname(r: Running, status: HostnameStatusSpec | undefined, onLinks: ReadonlySet<string>): void {
  if (!(r.client instanceof Dhcp4Client) || !r.specs || !status?.hostname) return;
  if (!r.specs.addresses.every((a) => onLinks.has(addressId(a.linkName, a.address)))) return;
  const fromLease = r.specs.hostname.some((h) => h.hostname === status.hostname);
  const name = `${status.hostname}.${status.domainname}`;
  if (fromLease || r.sentHostname === name) return;
  r.sentHostname = name;
  r.client.setHostname({ hostname: status.hostname, domainname: status.domainname });
}

/** A client is restarted when its spec or its link's identity changes. */
function keyOf(spec: OperatorSpecSpec, link: LinkStatusSpec): string {
  return JSON.stringify([spec.operator, spec.linkName, spec.dhcp4 ?? spec.dhcp6 ?? null, link.index, link.hardwareAddr]);
}

/** Writes every lease's specs and removes whatever this controller wrote before and no longer means. */
function publish(ctx: ControllerContext, owner: string, running: ReadonlyMap<string, Running>): void {
  const produced = new Map<string, Set<string>>(outputTypes.map((t) => [t, new Set()]));
  const put = <S>(type: string, id: string, spec: S): void => {
    produced.get(type)!.add(id);
    ctx.modify<S>({ ...configKind(type), id }, spec, (d) => {
      d.spec = spec;
    });
  };
  for (const [prefix, r] of running) {
    const s = r.specs;
    if (!s) continue;
    for (const a of s.addresses) put(AddressSpecType, `${prefix}/${addressId(a.linkName, a.address)}`, a);
    for (const rt of s.routes) put(RouteSpecType, `${prefix}/${routeId(rt)}`, rt);
    for (const l of s.links) put(LinkSpecType, `${prefix}/${l.name}`, { logical: false, kind: '', type: 'ether', ...l });
    for (const h of s.hostname) put(HostnameSpecType, `${prefix}/${HostnameId}`, h);
    for (const v of s.resolvers) put(ResolverSpecType, `${prefix}/${ResolverId}`, v);
    for (const t of s.timeServers) put(TimeServerSpecType, `${prefix}/${TimeServerId}`, t);
  }
  for (const type of outputTypes) removeUnproduced(ctx, configKind(type), owner, produced.get(type)!);
}
