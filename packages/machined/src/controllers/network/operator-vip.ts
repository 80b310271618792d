import { removeUnproduced, type Controller, type ControllerContext, type Logger } from '@talos-ts/cosi';
import { AddressSpecType, NamespaceName, OperatorSpecType, addressId, type AddressSpecSpec, type OperatorSpecSpec } from '@talos-ts/machinery';
import type { EtcdClient } from '../../etcd/client.ts';
import type { NetworkKernel } from '../../linux/rtnetlink.ts';

/** Upstream's root of Talos's own etcd keys (constants.EtcdRootTalosKey). */
export const ETCD_ROOT_TALOS_KEY = 'talos:v1';

/** The election key prefix for a shared address, as upstream names it. */
export function vipElectionKey(ip: string): string {
  return `${ETCD_ROOT_TALOS_KEY}:vip:election:${ip}`;
}

/**
 * Releases the shared addresses this node holds, before a shutdown, reboot, reset or upgrade stops
 * etcd: the holder resigns (its lease revoked) and drops the address, so another control plane
 * takes over at once instead of after the lease expires. The sequencer calls `release()`.
 */
export class SharedAddressRelease {
  readonly #hooks = new Set<() => Promise<void>>();

  /** Registers a release step; the returned function unregisters it. */
  add(hook: () => Promise<void>): () => void {
    this.#hooks.add(hook);
    return () => this.#hooks.delete(hook);
  }

  /** Runs every release step (they never throw). */
  async release(): Promise<void> {
    await Promise.all([...this.#hooks].map((h) => h()));
  }
}

/** Options of {@link OperatorVIPController}. */
export interface OperatorVIPOptions {
  /**
   * Opens the kernel's networking: the holder watches its AddressSpec reach the link, and takes the
   * address off directly if the specs could not in time.
   */
  readonly openKernel: () => NetworkKernel;
  /** A client of the local etcd member; undefined while this node runs no etcd. */
  readonly etcd: () => Promise<EtcdClient | undefined>;
  /** What this node writes as its value in the election (upstream: the hostname). */
  readonly identity: string;
  readonly release: SharedAddressRelease;
  /** Lease TTL of a campaign: how long a holder that vanished without resigning keeps the address. */
  readonly leaseTtlSeconds?: number;
  /** How often a candidate checks whether it leads now, and a holder that it still does. */
  readonly pollMs?: number;
  /** How long the address may take to reach (or leave) the link through the specs (default 5 s). */
  readonly applyTimeoutMs?: number;
}

interface Campaign {
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

interface Vip {
  readonly linkName: string;
  readonly ip: string;
}

const cidrOf = (ip: string): string => `${ip}/${ip.includes(':') ? 128 : 32}`;

/** The operator's prefix for a link's configs, as upstream's VIP operator names it. */
const prefixOf = (linkName: string): string => `vip/${linkName}`;

/**
 * network.OperatorVIPController: runs the VIP operator for each `vip` OperatorSpec. Each control
 * plane campaigns in an etcd election (upstream's key, a lease-bound key per candidate, the oldest
 * key leads). The leader publishes the shared address as an AddressSpec at the `operator` layer
 * (`vip/<link>/<link>/<ip>/32` in network-config, as upstream's operator) marked to be announced:
 * the merge and address spec controllers put it on the link and send the gratuitous ARP. It
 * withdraws the spec, and waits for the address to leave the link, when it loses the lease, when
 * the OperatorSpec goes, and before the node stops.
 */
export class OperatorVIPController implements Controller {
  readonly name = 'network.OperatorVIPController';
  readonly inputs = [{ namespace: NamespaceName.network, type: OperatorSpecType, kind: 'weak' as const }];
  readonly outputs = [{ type: AddressSpecType, kind: 'shared' as const }];
  readonly #o: OperatorVIPOptions;
  readonly #ttl: number;
  readonly #pollMs: number;
  readonly #applyTimeoutMs: number;

  constructor(options: OperatorVIPOptions) {
    this.#o = options;
    this.#ttl = options.leaseTtlSeconds ?? 15;
    this.#pollMs = options.pollMs ?? 200;
    this.#applyTimeoutMs = options.applyTimeoutMs ?? 5000;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const campaigns = new Map<string, Campaign>();
    // Campaigns being stopped: they wait for this loop to withdraw their address, so the loop
    // never awaits them; run's end and the release hook do.
    const stopping = new Set<Promise<void>>();
    // The addresses this node leads for, written by the campaigns; the loop publishes their specs.
    const holding = new Map<string, Vip>();
    const held = { holding, changed: () => ctx.requeueAfter(0) };
    let released = false;
    const stopAll = async (): Promise<void> => {
      for (const c of campaigns.values()) c.abort.abort();
      await Promise.all([...campaigns.values()].map((c) => c.done).concat([...stopping]));
      campaigns.clear();
    };
    const unregister = this.#o.release.add(async () => {
      released = true;
      await stopAll();
    });
    try {
      for await (const _ of ctx.changes()) {
        const wanted = new Map<string, { linkName: string; ip: string }>();
        for (const r of ctx.list<OperatorSpecSpec>({ namespace: NamespaceName.network, type: OperatorSpecType })) {
          if (r.spec.operator !== 'vip' || !r.spec.vip) continue;
          wanted.set(`${r.spec.linkName}/${r.spec.vip.ip}`, { linkName: r.spec.linkName, ip: r.spec.vip.ip });
        }
        for (const [key, c] of campaigns) {
          if (wanted.has(key)) continue;
          c.abort.abort();
          stopping.add(c.done);
          void c.done.finally(() => stopping.delete(c.done));
          campaigns.delete(key);
        }
        if (!released) {
          for (const [key, vip] of wanted) {
            if (campaigns.has(key)) continue;
            const abort = new AbortController();
            const logger = ctx.logger.child({ link: vip.linkName, ip: vip.ip });
            campaigns.set(key, { abort, done: this.#campaign({ key, vip, held }, logger, abort.signal) });
          }
        }
        const produced = new Set<string>();
        for (const vip of holding.values()) {
          const cidr = cidrOf(vip.ip);
          const id = `${prefixOf(vip.linkName)}/${addressId(vip.linkName, cidr)}`;
          const spec: AddressSpecSpec = {
            address: cidr,
            linkName: vip.linkName,
            family: vip.ip.includes(':') ? 'inet6' : 'inet4',
            scope: 'global',
            flags: 'permanent',
            announceWithARP: true,
            layer: 'operator',
          };
          produced.add(id);
          ctx.modify<AddressSpecSpec>({ namespace: NamespaceName.networkConfig, type: AddressSpecType, id }, spec, (d) => {
            d.spec = spec;
          });
        }
        removeUnproduced(ctx, { namespace: NamespaceName.networkConfig, type: AddressSpecType }, this.name, produced);
      }
    } finally {
      unregister();
      await stopAll();
    }
  }

  // Campaigns until stopped: each term is one lease; a failed term (etcd not up yet, quorum lost)
  // is retried a second later, as upstream's campaignRetryInterval.
  async #campaign(c: Term, logger: Logger, signal: AbortSignal): Promise<void> {
    let last = '';
    while (!signal.aborted) {
      try {
        await this.#term(c, logger, signal);
        last = '';
      } catch (err) {
        // Until etcd is up every term fails the same way: say so once, not every second.
        const message = (err as Error).message;
        if (!signal.aborted && message !== last) logger.warn('campaign failure', { error: message });
        last = message;
      }
      await sleep(1000, signal);
    }
  }

  // Polls a kernel condition (a netlink dump each time) until it holds, for at most the apply timeout.
  async #until(check: () => boolean, signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + this.#applyTimeoutMs;
    for (;;) {
      if (check()) return true;
      if (signal.aborted || Date.now() >= deadline) return false;
      await sleep(20, signal);
    }
  }

  async #term(t: Term, logger: Logger, signal: AbortSignal): Promise<void> {
    const client = await this.#o.etcd();
    if (!client) return;
    using c = client;
    const vip = t.vip;
    const prefix = `${vipElectionKey(vip.ip)}/`;
    const lease = await c.leaseGrant(this.#ttl, signal);
    const key = `${prefix}${lease.toString(16)}`;
    let holding = false;
    using kernel = this.#o.openKernel();
    const cidr = cidrOf(vip.ip);
    const onLink = (): boolean => {
      const link = kernel.links().find((l) => l.name === vip.linkName);
      return link !== undefined && kernel.addresses().some((a) => a.linkIndex === link.index && a.address === cidr);
    };
    try {
      // A key of ours from before a crash or restart would lead the queue until its lease expires,
      // with nobody holding the address: resign it first, as upstream does.
      for (const stale of await c.listPrefix(prefix, signal)) {
        if (stale.value !== this.#o.identity || stale.key === key) continue;
        logger.info('resigning from previous election', { key: stale.key });
        await c.delete(stale.key, signal);
      }
      if (!(await c.createIfAbsent(key, this.#o.identity, lease, signal))) throw new Error(`election key ${key} exists already`);
      let renewAt = Date.now() + (this.#ttl * 1000) / 3;
      // Wait for our key to be the oldest (the leader), renewing the lease meanwhile; then hold the
      // address while it stays so. Every step is bounded by the lease: a renewal that fails ends the term.
      for (;;) {
        if (signal.aborted) return;
        if (Date.now() >= renewAt) {
          if ((await c.leaseKeepAliveOnce(lease, signal)) <= 0) throw new Error('election lease expired');
          renewAt = Date.now() + (this.#ttl * 1000) / 3;
        }
        const keys = await c.listPrefix(prefix, signal);
        if (!keys.some((k) => k.key === key)) throw new Error('election key vanished');
        const leads = keys[0]?.key === key;
        if (leads && !holding) {
          if (!kernel.links().some((l) => l.name === vip.linkName)) throw new Error(`link ${vip.linkName} does not exist`);
          holding = true;
          t.held.holding.set(t.key, vip);
          t.held.changed();
          if (!(await this.#until(onLink, signal))) {
            if (signal.aborted) return;
            throw new Error(`the shared IP did not reach ${vip.linkName} within ${this.#applyTimeoutMs} ms`);
          }
          logger.info('enabled shared IP');
        } else if (!leads && holding) {
          throw new Error('lost the election');
        }
        await sleep(this.#pollMs, signal);
      }
    } finally {
      if (holding) {
        t.held.holding.delete(t.key);
        t.held.changed();
        // The address must be off the link before the lease goes, or the next holder and this node
        // would both answer for it. The specs take it off; if they could not (the controllers are
        // stopping), it is taken off here.
        if (!(await this.#until(() => !onLink(), AbortSignal.timeout(this.#applyTimeoutMs)))) {
          try {
            const link = kernel.links().find((l) => l.name === vip.linkName);
            if (link && onLink()) kernel.deleteAddress(link.index, cidr);
          } catch (err) {
            logger.warn('shared IP not removed', { error: (err as Error).message });
          }
        }
        logger.info('removed shared IP');
      }
      // Revoking the lease deletes our key: the next candidate leads at once rather than after the TTL.
      await c.leaseRevoke(lease, AbortSignal.timeout(3000)).catch((err: unknown) => logger.debug('lease not revoked', { error: (err as Error).message }));
    }
  }
}

/** One campaign's address and the holding set it reports to. */
interface Term {
  readonly key: string;
  readonly vip: Vip;
  readonly held: { readonly holding: Map<string, Vip>; readonly changed: () => void };
}

async function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
