import { Code, TalosError } from '@talos-ts/cosi';
import { limits } from './limits.ts';

/** An affiliate as sent on the wire: id plus ciphertext. */
export interface WireAffiliate {
  readonly id: string;
  readonly data: Uint8Array;
  readonly endpoints: Uint8Array[];
}

/** The shape of one Watch message; when `deleted`, only the ids matter. */
export interface WatchEvent {
  readonly affiliates: WireAffiliate[];
  readonly deleted: boolean;
}

/**
 * Told which affiliate of its cluster changed (added, updated or removed). Must not block: it
 * records the id and later reads the current state, so bursts coalesce per affiliate.
 */
export interface Watcher {
  changed(affiliateId: string): void;
}

/**
 * A stored affiliate. Ciphertext is kept as latin1 strings: V8 stores them one byte per char
 * with a small header, far cheaper than a Uint8Array (own backing store) per blob, and an
 * endpoint string doubles as its deduplication key.
 */
export interface StoredAffiliate {
  readonly id: string;
  data: string | undefined;
  endpoints: { key: string; expiresAt: number }[];
  expiresAt: number;
}

/** Affiliates and watchers of one cluster id. */
export interface ClusterState {
  readonly affiliates: Map<string, StoredAffiliate>;
  readonly watchers: Set<Watcher>;
}

/** Input of {@link DiscoveryState.update}. */
export interface AffiliateUpdate {
  /** Absent keeps the stored data. */
  readonly data?: Uint8Array | undefined;
  readonly endpoints: readonly Uint8Array[];
  readonly ttlMs: number;
}

/** Counts for metrics. */
export interface StateStats {
  readonly clusters: number;
  readonly affiliates: number;
  readonly endpoints: number;
  readonly watchers: number;
}

/** The persisted form: ciphertext only, base64, with absolute expiry times (ms since epoch). */
export interface SnapshotData {
  readonly version: 1;
  readonly clusters: {
    readonly id: string;
    readonly affiliates: {
      readonly id: string;
      readonly data?: string;
      readonly expiresAt: number;
      readonly endpoints: { readonly data: string; readonly expiresAt: number }[];
    }[];
  }[];
}

const latin1 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
const bytes = (s: string): Uint8Array => Buffer.from(s, 'latin1');

function invalid(msg: string): TalosError {
  return new TalosError(Code.InvalidArgument, msg);
}

/** Rejects a cluster id the service does not accept. */
export function validateClusterId(id: string): void {
  if (id.length === 0) throw invalid('cluster id must not be empty');
  if (id.length > limits.clusterIdMaxChars) throw invalid(`cluster id is longer than ${limits.clusterIdMaxChars} characters`);
}

/** Rejects an affiliate id the service does not accept. */
export function validateAffiliateId(id: string): void {
  if (id.length === 0) throw invalid('affiliate id must not be empty');
  if (id.length > limits.affiliateIdMaxChars) throw invalid(`affiliate id is longer than ${limits.affiliateIdMaxChars} characters`);
}

/**
 * All affiliates of all clusters, in memory. Every mutation validates first and changes nothing
 * when it throws. Watchers get each change synchronously and must queue it themselves.
 */
export class DiscoveryState {
  readonly #clusters = new Map<string, ClusterState>();
  readonly #now: () => number;

  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  /** The clusters map itself; tests inspect it to prove what the server holds. */
  get clusters(): ReadonlyMap<string, ClusterState> {
    return this.#clusters;
  }

  #cluster(id: string): ClusterState {
    let c = this.#clusters.get(id);
    if (!c) {
      c = { affiliates: new Map(), watchers: new Set() };
      this.#clusters.set(id, c);
    }
    return c;
  }

  #dropIfEmpty(id: string, c: ClusterState): void {
    if (c.affiliates.size === 0 && c.watchers.size === 0) this.#clusters.delete(id);
  }

  #emit(c: ClusterState, affiliateId: string): void {
    for (const w of c.watchers) w.changed(affiliateId);
  }

  /** Creates or refreshes an affiliate: data replaces, endpoints merge, the TTL extends. */
  update(clusterId: string, affiliateId: string, upd: AffiliateUpdate): void {
    validateClusterId(clusterId);
    validateAffiliateId(affiliateId);
    if (upd.data !== undefined && upd.data.byteLength > limits.affiliateDataMaxBytes) {
      throw invalid(`affiliate data is ${upd.data.byteLength} bytes, more than ${limits.affiliateDataMaxBytes}`);
    }
    for (const e of upd.endpoints) {
      if (e.byteLength > limits.endpointMaxBytes) throw invalid(`affiliate endpoint is ${e.byteLength} bytes, more than ${limits.endpointMaxBytes}`);
    }
    if (!Number.isFinite(upd.ttlMs) || upd.ttlMs <= 0) throw invalid('ttl must be positive');
    if (upd.ttlMs > limits.ttlMaxMs) throw invalid(`ttl is longer than ${limits.ttlMaxMs / 60_000} minutes`);

    const existing = this.#clusters.get(clusterId)?.affiliates.get(affiliateId);
    if (!existing && (this.#clusters.get(clusterId)?.affiliates.size ?? 0) >= limits.clusterAffiliatesMax) {
      throw new TalosError(Code.ResourceExhausted, `cluster already has ${limits.clusterAffiliatesMax} affiliates`);
    }
    const keys = upd.endpoints.map(latin1);
    const merged = new Set([...(existing?.endpoints.map((e) => e.key) ?? []), ...keys]);
    if (merged.size > limits.affiliateEndpointsMax) {
      throw new TalosError(Code.ResourceExhausted, `affiliate would have ${merged.size} endpoints, more than ${limits.affiliateEndpointsMax}`);
    }

    const expiresAt = this.#now() + upd.ttlMs;
    const c = this.#cluster(clusterId);
    const a: StoredAffiliate = existing ?? { id: affiliateId, data: undefined, endpoints: [], expiresAt };
    let changed = !existing;
    if (upd.data !== undefined) {
      const d = latin1(upd.data);
      if (d !== a.data) changed = true;
      a.data = d;
    }
    for (const key of keys) {
      const e = a.endpoints.find((x) => x.key === key);
      if (e) e.expiresAt = Math.max(e.expiresAt, expiresAt);
      else {
        a.endpoints.push({ key, expiresAt });
        changed = true;
      }
    }
    a.expiresAt = Math.max(a.expiresAt, expiresAt);
    if (!existing) c.affiliates.set(affiliateId, a);
    if (changed) this.#emit(c, affiliateId);
  }

  /** Removes an affiliate now; deleting a missing one is not an error. */
  delete(clusterId: string, affiliateId: string): void {
    validateClusterId(clusterId);
    validateAffiliateId(affiliateId);
    const c = this.#clusters.get(clusterId);
    if (!c || !c.affiliates.delete(affiliateId)) return;
    this.#emit(c, affiliateId);
    this.#dropIfEmpty(clusterId, c);
  }

  /** Current affiliates of a cluster. */
  list(clusterId: string): WireAffiliate[] {
    validateClusterId(clusterId);
    return [...(this.#clusters.get(clusterId)?.affiliates.values() ?? [])].map(toWire);
  }

  /** One affiliate in wire form, or undefined when it does not exist (any more). */
  get(clusterId: string, affiliateId: string): WireAffiliate | undefined {
    const a = this.#clusters.get(clusterId)?.affiliates.get(affiliateId);
    return a && toWire(a);
  }

  /** Registers a watcher; returns the snapshot it must send first and how to unregister. */
  subscribe(clusterId: string, watcher: Watcher): { snapshot: WireAffiliate[]; unsubscribe: () => void } {
    validateClusterId(clusterId);
    const c = this.#cluster(clusterId);
    c.watchers.add(watcher);
    return {
      snapshot: [...c.affiliates.values()].map(toWire),
      unsubscribe: () => {
        c.watchers.delete(watcher);
        if (this.#clusters.get(clusterId) === c) this.#dropIfEmpty(clusterId, c);
      },
    };
  }

  /** Drops expired affiliates and endpoints, telling watchers. Returns how many affiliates went. */
  gc(): number {
    const now = this.#now();
    let removed = 0;
    for (const [id, c] of this.#clusters) {
      for (const [aid, a] of c.affiliates) {
        if (a.expiresAt <= now) {
          c.affiliates.delete(aid);
          removed++;
          this.#emit(c, aid);
          continue;
        }
        const before = a.endpoints.length;
        a.endpoints = a.endpoints.filter((e) => e.expiresAt > now);
        if (a.endpoints.length !== before) this.#emit(c, aid);
      }
      this.#dropIfEmpty(id, c);
    }
    return removed;
  }

  /** Counts for metrics. */
  stats(): StateStats {
    let affiliates = 0;
    let endpoints = 0;
    let watchers = 0;
    for (const c of this.#clusters.values()) {
      affiliates += c.affiliates.size;
      watchers += c.watchers.size;
      for (const a of c.affiliates.values()) endpoints += a.endpoints.length;
    }
    return { clusters: this.#clusters.size, affiliates, endpoints, watchers };
  }

  /** Everything stored, for the snapshot file. */
  export(): SnapshotData {
    const b64 = (s: string) => Buffer.from(s, 'latin1').toString('base64');
    return {
      version: 1,
      clusters: [...this.#clusters]
        .filter(([, c]) => c.affiliates.size > 0)
        .map(([id, c]) => ({
          id,
          affiliates: [...c.affiliates.values()].map((a) => ({
            id: a.id,
            ...(a.data === undefined ? {} : { data: b64(a.data) }),
            expiresAt: a.expiresAt,
            endpoints: a.endpoints.map((e) => ({ data: b64(e.key), expiresAt: e.expiresAt })),
          })),
        })),
    };
  }

  /** Loads a snapshot, skipping what has expired or breaks a limit. Returns affiliates loaded. */
  import(snap: SnapshotData): number {
    const now = this.#now();
    let n = 0;
    for (const cl of snap.clusters) {
      for (const a of cl.affiliates) {
        const endpoints = a.endpoints.filter((e) => e.expiresAt > now);
        if (a.expiresAt <= now) continue;
        const ttlMs = Math.min(a.expiresAt - now, limits.ttlMaxMs);
        try {
          this.update(cl.id, a.id, {
            ...(a.data === undefined ? {} : { data: Buffer.from(a.data, 'base64') }),
            endpoints: endpoints.map((e) => Buffer.from(e.data, 'base64')),
            ttlMs,
          });
        } catch {
          continue;
        }
        const stored = this.#clusters.get(cl.id)?.affiliates.get(a.id);
        if (stored) for (const e of stored.endpoints) e.expiresAt = endpoints.find((x) => Buffer.from(x.data, 'base64').toString('latin1') === e.key)?.expiresAt ?? e.expiresAt;
        n++;
      }
    }
    return n;
  }
}

/** The wire form of a stored affiliate. */
export function toWire(a: StoredAffiliate): WireAffiliate {
  return { id: a.id, data: a.data === undefined ? new Uint8Array(0) : bytes(a.data), endpoints: a.endpoints.map((e) => bytes(e.key)) };
}
