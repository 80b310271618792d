import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { Code, TalosError, nullLogger } from '@talos-ts/cosi';
import type { Logger } from '@talos-ts/cosi';
import { createGrpcClient } from '../grpc/client.ts';
import type { GrpcClient } from '../grpc/client.ts';
import type { H2ChannelTls } from '../grpc/h2/channel.ts';
import * as cpb from '../gen/discovery/client/affiliate_pb.ts';
import * as spb from '../gen/discovery/server/cluster_pb.ts';
import { clusterKey, openData, openEndpoint, sealData, sealEndpoint } from './crypto.ts';
import type { ClusterKey } from './crypto.ts';

/** Plaintext affiliate data as a node publishes it. */
export type AffiliateInit = MessageInitShape<typeof cpb.AffiliateSchema>;
/** One endpoint (ip bytes + port) as a node publishes it. */
export type EndpointInit = MessageInitShape<typeof cpb.EndpointSchema>;

/** Another member, decrypted. */
export interface DiscoveredAffiliate {
  readonly id: string;
  readonly affiliate: cpb.Affiliate;
  readonly endpoints: cpb.Endpoint[];
}

/** A change in the set of other members. */
export type AffiliateEvent =
  | { readonly type: 'add' | 'update'; readonly id: string; readonly affiliate: DiscoveredAffiliate }
  | { readonly type: 'delete'; readonly id: string };

/** How long a refresh in flight may still run once the client is stopped. */
const REFRESH_GRACE_MS = 2000;

/** Options of {@link DiscoveryClient}. */
export interface DiscoveryClientOptions {
  /** `host:port` of the discovery service. */
  readonly endpoint: string;
  readonly clusterId: string;
  /** This node's id (upstream uses the node identity). */
  readonly affiliateId: string;
  /** The machine config's `cluster.secret` (base64) or raw AES key bytes. */
  readonly clusterSecret: string | Uint8Array;
  /** TTL of published data; refreshed at half of it. Default 30 minutes, the service maximum. */
  readonly ttlMs?: number;
  readonly clientVersion?: string;
  /** TLS to the service (`{}`: verified against the public roots); plaintext when absent. */
  readonly tls?: H2ChannelTls;
  readonly logger?: Logger;
  /** Called for every change; runs synchronously inside the watch loop. */
  readonly onEvent?: (event: AffiliateEvent) => void;
  readonly retryMinMs?: number;
  readonly retryMaxMs?: number;
}

interface Known {
  readonly fingerprint: string;
  readonly value: DiscoveredAffiliate;
}

/**
 * Publishes this node's sealed affiliate data to the discovery service and keeps a decrypted view
 * of the other members from a Watch stream. Reconnects with backoff; the server only sees ciphertext.
 */
export class DiscoveryClient {
  readonly #opts: DiscoveryClientOptions;
  readonly #key: ClusterKey;
  readonly #log: Logger;
  readonly #ttlMs: number;
  readonly #known = new Map<string, Known>();
  readonly #listeners = new Set<(e: AffiliateEvent) => void>();
  #endpoint: string;
  #localData: Uint8Array | undefined;
  #localEndpoints: Uint8Array[] = [];
  #otherEndpoints: { affiliateId: string; endpoints: Uint8Array[] }[] = [];
  #deleteLocal = false;
  #published = false;
  #publicIp: Uint8Array = new Uint8Array(0);
  #kick: (() => void) | undefined;
  #dirty = true;
  #running: { ac: AbortController; done: Promise<void> } | undefined;

  constructor(options: DiscoveryClientOptions) {
    this.#opts = options;
    this.#key = clusterKey(options.clusterSecret);
    this.#log = (options.logger ?? nullLogger).child({ component: 'discovery-client', cluster: options.clusterId });
    this.#ttlMs = options.ttlMs ?? 30 * 60_000;
    this.#endpoint = options.endpoint;
    if (options.onEvent) this.#listeners.add(options.onEvent);
  }

  /** Seals and publishes this node's data (and endpoints seen for other members) on the next refresh. */
  setLocalData(affiliate: AffiliateInit, endpoints: readonly EndpointInit[] = [], otherEndpoints: readonly { affiliateId: string; endpoints: readonly EndpointInit[] }[] = []): void {
    const seal = (e: EndpointInit) => sealEndpoint(this.#key, toBinary(cpb.EndpointSchema, create(cpb.EndpointSchema, e)));
    this.#localData = sealData(this.#key, toBinary(cpb.AffiliateSchema, create(cpb.AffiliateSchema, affiliate)));
    this.#localEndpoints = endpoints.map(seal);
    this.#otherEndpoints = otherEndpoints.map((o) => ({ affiliateId: o.affiliateId, endpoints: o.endpoints.map(seal) }));
    this.#deleteLocal = false;
    this.#markDirty();
  }

  /** Removes this node from the service on the next refresh (and stops publishing). */
  deleteLocalAffiliate(): void {
    this.#localData = undefined;
    this.#localEndpoints = [];
    this.#otherEndpoints = [];
    this.#deleteLocal = true;
    this.#markDirty();
  }

  /**
   * Removes this node from the service right now, outside the refresh loop (which may already be
   * stopped, e.g. on shutdown). Best effort: gives up after timeoutMs.
   */
  async deleteNow(options: { readonly timeoutMs?: number; readonly signal?: AbortSignal } = {}): Promise<void> {
    this.deleteLocalAffiliate();
    this.#dirty = false;
    const grpc = createGrpcClient(spb.Cluster, this.#endpoint, this.#opts.tls ? { tls: this.#opts.tls } : { plaintext: true });
    try {
      await grpc.affiliateDelete(
        { clusterId: this.#opts.clusterId, affiliateId: this.#opts.affiliateId },
        { timeoutMs: options.timeoutMs ?? 2000, ...(options.signal ? { signal: options.signal } : {}) },
      );
      this.#published = false;
    } finally {
      grpc.close();
    }
  }

  /** Other members currently known, by affiliate id. */
  affiliates(): ReadonlyMap<string, DiscoveredAffiliate> {
    return new Map([...this.#known].map(([id, k]) => [id, k.value]));
  }

  /** True once the service has accepted our data (and we have not deleted it since). */
  get published(): boolean {
    return this.#published;
  }

  /** This node's IP as the service saw it in Hello (4 or 16 bytes; empty before the first Hello). */
  get publicIp(): Uint8Array {
    return this.#publicIp;
  }

  /** Subscribes to changes; returns the unsubscribe function. */
  onEvent(fn: (e: AffiliateEvent) => void): () => void {
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  /** Changes as an async iterator, until signal aborts or the loop is left. */
  async *events(signal?: AbortSignal): AsyncIterable<AffiliateEvent> {
    const queue: AffiliateEvent[] = [];
    let wake: (() => void) | undefined;
    const off = this.onEvent((e) => {
      queue.push(e);
      wake?.();
    });
    const stop = () => wake?.();
    signal?.addEventListener('abort', stop, { once: true });
    try {
      while (!signal?.aborted) {
        const e = queue.shift();
        if (e) yield e;
        else await new Promise<void>((r) => (wake = r));
      }
    } finally {
      off();
      signal?.removeEventListener('abort', stop);
    }
  }

  /** Starts the refresh/watch loop in the background (idempotent). */
  start(signal?: AbortSignal): void {
    if (this.#running) return;
    const ac = new AbortController();
    if (signal) signal.addEventListener('abort', () => ac.abort(), { once: true });
    this.#running = { ac, done: this.run(ac.signal) };
  }

  /** Runs the loop until signal aborts: Hello, Watch, and AffiliateUpdate on change and every TTL/2. */
  async run(signal: AbortSignal): Promise<void> {
    const minMs = this.#opts.retryMinMs ?? 100;
    const maxMs = this.#opts.retryMaxMs ?? 10_000;
    let backoffMs = minMs;
    const onAbort = () => this.#kick?.();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!signal.aborted) {
        const grpc = createGrpcClient(spb.Cluster, this.#endpoint, this.#opts.tls ? { tls: this.#opts.tls } : { plaintext: true });
        const watchAc = new AbortController();
        try {
          const hello = await grpc.hello({ clusterId: this.#opts.clusterId, clientVersion: this.#opts.clientVersion ?? 'talos-ts' }, { signal, timeoutMs: 10_000 });
          this.#publicIp = hello.clientIp;
          if (hello.redirect?.endpoint) {
            this.#log.info('redirected', { endpoint: hello.redirect.endpoint });
            this.#endpoint = hello.redirect.endpoint;
            continue;
          }
          let watchFailed: unknown;
          const watching = this.#watch(grpc, watchAc.signal).catch((err: unknown) => {
            watchFailed = err;
            this.#kick?.();
          });
          this.#dirty = true;
          while (!signal.aborted && watchFailed === undefined) {
            if (this.#dirty) {
              this.#dirty = false;
              await this.#refreshUnlessStopped(grpc, signal);
              backoffMs = minMs;
            }
            // A change made while the refresh was in flight found no sleep to kick: publish it now,
            // not a TTL/2 (15 min) later.
            if (!this.#dirty) await this.#sleep(this.#ttlMs / 2, () => (this.#dirty = true));
          }
          watchAc.abort();
          await watching;
          if (watchFailed !== undefined && !signal.aborted) throw watchFailed;
        } catch (err) {
          if (signal.aborted) break;
          this.#log.warn('discovery service call failed; retrying', { err, retryInMs: backoffMs });
          await this.#sleep(backoffMs);
          backoffMs = Math.min(maxMs, backoffMs * 2);
        } finally {
          watchAc.abort();
          grpc.close();
        }
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Stops a loop started with {@link start}. */
  async [Symbol.asyncDispose](): Promise<void> {
    const r = this.#running;
    if (!r) return;
    this.#running = undefined;
    r.ac.abort();
    await r.done;
  }

  #markDirty(): void {
    this.#dirty = true;
    this.#kick?.();
  }

  /** Waits ms, or until kicked (local change, watch failure, abort). Calls onTimeout if the time ran out. */
  async #sleep(ms: number, onTimeout?: () => void): Promise<void> {
    await new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        onTimeout?.();
        resolve();
      }, ms);
      this.#kick = () => {
        clearTimeout(t);
        resolve();
      };
    });
    this.#kick = undefined;
  }

  /**
   * A refresh in flight when the loop is stopped is let finish (for a short grace): aborting it
   * would not stop the service from applying an update it already received, and that update could
   * then land after the delete sent on shutdown, bringing the node back until its TTL.
   */
  async #refreshUnlessStopped(grpc: GrpcClient<typeof spb.Cluster>, signal: AbortSignal): Promise<void> {
    const ac = new AbortController();
    let grace: NodeJS.Timeout | undefined;
    const onStop = (): void => {
      grace = setTimeout(() => ac.abort(signal.reason), REFRESH_GRACE_MS);
    };
    if (signal.aborted) onStop();
    else signal.addEventListener('abort', onStop, { once: true });
    try {
      await this.#refresh(grpc, ac.signal);
    } finally {
      signal.removeEventListener('abort', onStop);
      clearTimeout(grace);
    }
  }

  async #refresh(grpc: GrpcClient<typeof spb.Cluster>, signal: AbortSignal): Promise<void> {
    const { clusterId, affiliateId } = this.#opts;
    const opts = { signal, timeoutMs: 30_000 };
    if (this.#deleteLocal) {
      await grpc.affiliateDelete({ clusterId, affiliateId }, opts);
      this.#published = false;
      return;
    }
    if (this.#localData === undefined) return;
    const ttl = { seconds: BigInt(Math.floor(this.#ttlMs / 1000)), nanos: Math.round((this.#ttlMs % 1000) * 1e6) };
    await grpc.affiliateUpdate({ clusterId, affiliateId, affiliateData: this.#localData, affiliateEndpoints: this.#localEndpoints, ttl }, opts);
    this.#published = true;
    for (const o of this.#otherEndpoints) {
      await grpc.affiliateUpdate({ clusterId, affiliateId: o.affiliateId, affiliateEndpoints: o.endpoints, ttl }, opts);
    }
  }

  async #watch(grpc: GrpcClient<typeof spb.Cluster>, signal: AbortSignal): Promise<void> {
    let snapshot = true;
    for await (const resp of grpc.watch({ clusterId: this.#opts.clusterId }, { signal })) {
      this.#apply(resp, snapshot);
      snapshot = false;
    }
    if (!signal.aborted) throw new TalosError(Code.Unavailable, 'watch stream ended');
  }

  #emit(e: AffiliateEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch (err) {
        this.#log.error('affiliate event listener threw', { err });
      }
    }
  }

  #apply(resp: spb.WatchResponse, snapshot: boolean): void {
    const seen = new Set<string>();
    for (const a of resp.affiliates) {
      if (a.id === this.#opts.affiliateId) continue;
      if (resp.deleted) {
        if (this.#known.delete(a.id)) this.#emit({ type: 'delete', id: a.id });
        continue;
      }
      if (a.data.length === 0) continue;
      let parsed: Known;
      try {
        parsed = this.#decrypt(a);
      } catch (err) {
        this.#log.warn('skipping affiliate that does not decrypt', { affiliate: a.id, err });
        continue;
      }
      seen.add(a.id);
      const prev = this.#known.get(a.id);
      if (prev?.fingerprint === parsed.fingerprint) continue;
      this.#known.set(a.id, parsed);
      this.#emit({ type: prev ? 'update' : 'add', id: a.id, affiliate: parsed.value });
    }
    if (snapshot && !resp.deleted) {
      // A snapshot replaces what we knew: anything missing from it is gone.
      for (const id of [...this.#known.keys()]) {
        if (!seen.has(id)) {
          this.#known.delete(id);
          this.#emit({ type: 'delete', id });
        }
      }
    }
  }

  #decrypt(a: spb.Affiliate): Known {
    const plain = openData(this.#key, a.data);
    const affiliate = fromBinary(cpb.AffiliateSchema, plain);
    const endpoints: cpb.Endpoint[] = [];
    const parts = [Buffer.from(plain).toString('base64')];
    for (const e of a.endpoints) {
      try {
        const raw = openEndpoint(this.#key, e);
        endpoints.push(fromBinary(cpb.EndpointSchema, raw));
        parts.push(Buffer.from(raw).toString('base64'));
      } catch (err) {
        this.#log.warn('skipping endpoint that does not decrypt', { affiliate: a.id, err });
      }
    }
    return { fingerprint: parts.join('.'), value: { id: a.id, affiliate, endpoints } };
  }
}
