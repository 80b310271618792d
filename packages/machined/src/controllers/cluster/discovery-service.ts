import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  AffiliateType,
  DiscoveryClient,
  DiscoveryConfigId,
  DiscoveryConfigType,
  IdentityType,
  KubeSpanEndpointType,
  LocalIdentityId,
  NamespaceName,
  TAG,
  bytesToIp,
  ipToBytes,
  type AffiliateInit,
  type AffiliateSpec,
  type DiscoveredAffiliate,
  type DiscoveryConfigSpec,
  type EndpointInit,
  type IdentitySpec,
  type KubeSpanEndpointSpec,
  type MachineKind,
} from '@talos-ts/machinery';

/** Upstream's TTL of published affiliate data (the service maximum); refreshed at half of it. */
export const DEFAULT_DISCOVERY_TTL_MS = 30 * 60_000;

/** Options of {@link DiscoveryServiceController}. */
export interface DiscoveryServiceControllerOptions {
  /** TTL of our published data; tests shorten it to see a dead node expire. */
  readonly ttlMs?: number;
  /** Backoff of the client's reconnects. */
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
  /** How long the shutdown waits for the service to drop our affiliate. */
  readonly deleteTimeoutMs?: number;
}

const machineKinds: readonly string[] = ['controlplane', 'worker', 'init'];

/** Another member's data is untrusted input: a malformed address is skipped, not fatal. */
function ipOrUndefined(b: Uint8Array): string | undefined {
  try {
    return bytesToIp(b);
  } catch {
    return undefined;
  }
}

function bytesOrNothing(ip: string): Uint8Array[] {
  try {
    return [ipToBytes(ip)];
  } catch {
    return [];
  }
}

/** The plaintext message we seal for the service. */
export function affiliateMessage(spec: AffiliateSpec): AffiliateInit {
  return {
    nodeId: spec.nodeId,
    addresses: spec.addresses.flatMap(bytesOrNothing),
    hostname: spec.hostname,
    nodename: spec.nodename,
    machineType: spec.machineType,
    operatingSystem: spec.operatingSystem,
    ...(spec.kubespan
      ? {
          kubespan: {
            publicKey: spec.kubespan.publicKey,
            address: bytesOrNothing(spec.kubespan.address)[0] ?? new Uint8Array(),
            additionalAddresses: spec.kubespan.additionalAddresses.flatMap((p) => {
              const [ip = '', bits = ''] = p.split('/');
              return bytesOrNothing(ip).map((b) => ({ ip: b, bits: Number(bits) }));
            }),
          },
        }
      : {}),
    ...(spec.controlPlane ? { controlPlane: { apiServerPort: spec.controlPlane.port } } : {}),
  };
}

/** `ip:port` / `[ip6]:port` texts as discovery Endpoint messages (malformed ones dropped). */
export function endpointMessages(endpoints: readonly string[]): EndpointInit[] {
  return endpoints.flatMap((e) => {
    const m = /^\[([^\]]+)\]:(\d+)$/.exec(e) ?? /^([^:]+):(\d+)$/.exec(e);
    return m ? bytesOrNothing(m[1] ?? '').map((ip) => ({ ip, port: Number(m[2]) })) : [];
  });
}

/** A decrypted remote member as an Affiliate spec (unreadable addresses are skipped). */
export function affiliateSpecOf(d: DiscoveredAffiliate): AffiliateSpec {
  const a = d.affiliate;
  const ips = (list: readonly Uint8Array[]) => list.map(ipOrUndefined).filter((x): x is string => x !== undefined);
  const ks = a.kubespan;
  return {
    nodeId: a.nodeId,
    addresses: ips(a.addresses),
    hostname: a.hostname,
    nodename: a.nodename,
    operatingSystem: a.operatingSystem,
    machineType: (machineKinds.includes(a.machineType) ? a.machineType : 'unknown') as MachineKind,
    ...(ks
      ? {
          kubespan: {
            publicKey: ks.publicKey,
            address: ipOrUndefined(ks.address) ?? '',
            additionalAddresses: ks.additionalAddresses.flatMap((p) => {
              const ip = ipOrUndefined(p.ip);
              return ip ? [`${ip}/${p.bits}`] : [];
            }),
            endpoints: d.endpoints.flatMap((e) => {
              const ip = ipOrUndefined(e.ip);
              return ip ? [ip.includes(':') ? `[${ip}]:${e.port}` : `${ip}:${e.port}`] : [];
            }),
          },
        }
      : {}),
    ...(a.controlPlane ? { controlPlane: { port: a.controlPlane.apiServerPort } } : {}),
  };
}

interface Session {
  readonly key: string;
  readonly client: DiscoveryClient;
  published: string | undefined;
}

/**
 * Publishes the local Affiliate to the discovery service (sealed with the cluster secret) and
 * mirrors the other members it reports as `cluster-raw` Affiliates `service/<node id>`. The client
 * runs in the background (reconnecting with backoff) and wakes us on every change; on shutdown we
 * remove our affiliate from the service so the others drop us at once instead of after the TTL.
 */
export class DiscoveryServiceController implements Controller {
  readonly name = 'cluster.DiscoveryServiceController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: DiscoveryConfigType, id: DiscoveryConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId, kind: 'weak' as const },
    // The local affiliate; its id is the node id, only known at run time, so we watch the kind.
    { namespace: NamespaceName.cluster, type: AffiliateType, kind: 'weak' as const },
    // Endpoints that worked for KubeSpan peers, published on those peers' behalf.
    { namespace: NamespaceName.kubespan, type: KubeSpanEndpointType, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: AffiliateType, kind: 'shared' as const }];
  readonly #options: DiscoveryServiceControllerOptions;

  constructor(options: DiscoveryServiceControllerOptions = {}) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    let session: Session | undefined;
    try {
      for await (const _ of ctx.changes()) {
        const cfg = ctx.find<DiscoveryConfigSpec>({ namespace: NamespaceName.config, type: DiscoveryConfigType, id: DiscoveryConfigId });
        const identity = ctx.find<IdentitySpec>({ namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId });
        const wanted = cfg?.spec.discoveryEnabled && cfg.spec.registryServiceEnabled ? cfg.spec : undefined;
        const key = wanted && identity ? JSON.stringify([wanted, identity.spec.nodeId]) : undefined;
        if (session && session.key !== key) {
          await this.#close(ctx, session, wanted === undefined);
          session = undefined;
        }
        if (!wanted || !identity || !key) {
          this.#mirror(ctx, new Map());
          continue;
        }
        const local = ctx.find<AffiliateSpec>({ namespace: NamespaceName.cluster, type: AffiliateType, id: identity.spec.nodeId });
        if (!local) continue;
        session ??= this.#open(ctx, key, wanted, identity.spec.nodeId);
        // Publish only on change: our own update echoes back through the watch and would loop.
        const message = affiliateMessage(local.spec);
        const endpoints = endpointMessages(local.spec.kubespan?.endpoints ?? []);
        const others = new Map<string, string[]>();
        for (const e of ctx.list<KubeSpanEndpointSpec>({ namespace: NamespaceName.kubespan, type: KubeSpanEndpointType })) {
          others.set(e.spec.affiliateID, [...(others.get(e.spec.affiliateID) ?? []), e.spec.endpoint]);
        }
        const otherEndpoints = [...others].map(([affiliateId, list]) => ({ affiliateId, endpoints: endpointMessages(list) }));
        const fingerprint = JSON.stringify([message, endpoints, otherEndpoints], (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v));
        if (fingerprint !== session.published) {
          session.client.setLocalData(message, endpoints, otherEndpoints);
          session.published = fingerprint;
        }
        this.#mirror(ctx, session.client.affiliates());
      }
    } finally {
      if (session) await this.#close(ctx, session, true);
    }
  }

  #open(ctx: ControllerContext, key: string, cfg: DiscoveryConfigSpec, nodeId: string): Session {
    const o = this.#options;
    const client = new DiscoveryClient({
      endpoint: cfg.serviceEndpoint,
      clusterId: cfg.serviceClusterID,
      affiliateId: nodeId,
      clusterSecret: cfg.serviceEncryptionKey,
      ttlMs: o.ttlMs ?? DEFAULT_DISCOVERY_TTL_MS,
      clientVersion: TAG,
      logger: ctx.logger,
      ...(cfg.serviceEndpointInsecure ? {} : { tls: {} }),
      ...(o.retryMinMs !== undefined ? { retryMinMs: o.retryMinMs } : {}),
      ...(o.retryMaxMs !== undefined ? { retryMaxMs: o.retryMaxMs } : {}),
      onEvent: () => ctx.requeueAfter(0),
    });
    client.start(ctx.signal);
    ctx.logger.info('discovery service client started', { endpoint: cfg.serviceEndpoint, insecure: cfg.serviceEndpointInsecure });
    return { key, client, published: undefined };
  }

  async #close(ctx: ControllerContext, session: Session, deleteLocal: boolean): Promise<void> {
    await session.client[Symbol.asyncDispose]();
    // Nothing to remove if the service never took our data (e.g. it was unreachable all along).
    if (!deleteLocal || !session.client.published) return;
    try {
      await session.client.deleteNow({ timeoutMs: this.#options.deleteTimeoutMs ?? 2000 });
    } catch (err) {
      ctx.logger.warn('could not remove our affiliate from the discovery service; it expires with its TTL', { err });
    }
  }

  /** Makes `cluster-raw` hold exactly the discovered affiliates. */
  #mirror(ctx: ControllerContext, found: ReadonlyMap<string, DiscoveredAffiliate>): void {
    const raw = { namespace: NamespaceName.clusterRaw, type: AffiliateType };
    const keep = new Set<string>();
    for (const [affiliateId, d] of found) {
      const spec = affiliateSpecOf(d);
      const id = `service/${spec.nodeId || affiliateId}`;
      keep.add(id);
      ctx.modify<AffiliateSpec>({ ...raw, id }, spec, (draft) => {
        draft.spec = spec;
      });
    }
    for (const r of ctx.list(raw)) {
      if (r.metadata.owner === this.name && !keep.has(r.metadata.id)) ctx.destroy({ ...raw, id: r.metadata.id });
    }
  }
}
