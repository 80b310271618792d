import { setMaxListeners } from 'node:events';
import { createServer } from 'node:http';
import type { Server as HttpServer } from 'node:http';
import { isIPv4, isIPv6 } from 'node:net';
import { Code, TalosError, nullLogger } from '@talos-ts/cosi';
import type { Logger } from '@talos-ts/cosi';
import { createH2Server, registerService, discoveryServerPb as pb } from '@talos-ts/machinery';
import type { CallContext, H2Server, ServiceImplementation } from '@talos-ts/machinery';
import { limits } from './limits.ts';
import { Metrics } from './metrics.ts';
import { IpRateLimiter, defaultRateLimit } from './ratelimit.ts';
import type { RateLimitOptions } from './ratelimit.ts';
import { readSnapshot, writeSnapshot } from './snapshot.ts';
import { DiscoveryState, validateClusterId } from './state.ts';
import type { WireAffiliate, Watcher } from './state.ts';

/** Options of {@link createDiscoveryServer}. */
export interface DiscoveryServerOptions {
  readonly logger?: Logger;
  /** Where affiliates (ciphertext only) are saved and loaded from at start. */
  readonly snapshotPath?: string;
  /** Default 10 minutes. */
  readonly snapshotIntervalMs?: number;
  /** How often expired affiliates are collected; default 1 minute. */
  readonly gcIntervalMs?: number;
  /** Per-IP limit; `false` turns it off (tests that need many requests from 127.0.0.1). */
  readonly rateLimit?: RateLimitOptions | false;
  /** PEM certificate and key; without them the server speaks plaintext gRPC. */
  readonly tls?: { readonly certPem: string | Buffer; readonly keyPem: string | Buffer };
  /** Returns an endpoint to send a cluster's clients to, or undefined to serve them here. */
  readonly redirect?: (clusterId: string) => string | undefined;
  /** Distinct changed affiliates a watcher may lag behind before it is cut off; default {@link limits.watcherPendingMax}. */
  readonly watcherPendingMax?: number;
}

/** A bound listener address. */
export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  /** `host:port`, with brackets around IPv6 hosts. */
  readonly address: string;
}

/** Splits `host:port`, `[v6]:port`. */
function splitHostPort(addr: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(addr);
  if (!m || m[1] === undefined || m[2] === undefined) throw new TalosError(Code.InvalidArgument, `listen address ${JSON.stringify(addr)}: want host:port`);
  return { host: m[1], port: Number(m[2]) };
}

function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The client IP from a peer string (`1.2.3.4:5`, `[::1]:5`, `::1:5`), or '' when there is none. */
export function peerIp(peer: string): string {
  const ip = peer.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
  if (ip.startsWith('::ffff:') && isIPv4(ip.slice(7))) return ip.slice(7);
  return isIPv4(ip) || isIPv6(ip) ? ip : '';
}

/** An IP as 4 or 16 bytes (the binary form upstream sends in HelloResponse.client_ip). */
export function ipBytes(ip: string): Uint8Array {
  if (isIPv4(ip)) return Uint8Array.from(ip.split('.').map(Number));
  if (!isIPv6(ip)) return new Uint8Array(0);
  let v6 = ip;
  const tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(v6);
  if (tail?.[1]) {
    const [a, b, c, d] = tail[1].split('.').map(Number) as [number, number, number, number];
    v6 = v6.slice(0, -tail[1].length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = v6.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest ? rest.split(':') : [];
  const groups = rest === undefined ? h : [...h, ...Array<string>(8 - h.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** The discovery service: state, gRPC server, GC and snapshot timers, optional metrics endpoint. */
export class DiscoveryServer {
  /** Everything stored; exposed so tests can prove what the server knows. */
  readonly state: DiscoveryState;
  readonly metrics = new Metrics();
  readonly #log: Logger;
  readonly #opts: DiscoveryServerOptions;
  readonly #grpc: H2Server;
  readonly #limiter: IpRateLimiter | undefined;
  readonly #timers: NodeJS.Timeout[] = [];
  readonly #closing = new AbortController();
  #http: HttpServer | undefined;
  readonly #watchers = new Set<Set<string>>();
  #disposed = false;
  // Saving is allowed only after a load succeeded, so a file we could not read is never overwritten.
  #snapshotLoaded = false;

  /** Use {@link createDiscoveryServer}, which also loads the snapshot. */
  constructor(options: DiscoveryServerOptions = {}) {
    this.#opts = options;
    this.#log = (options.logger ?? nullLogger).child({ component: 'discovery' });
    this.state = new DiscoveryState();
    // Every open Watch listens for shutdown on this one signal.
    setMaxListeners(0, this.#closing.signal);
    this.#limiter = options.rateLimit === false ? undefined : new IpRateLimiter(options.rateLimit ?? defaultRateLimit);
    this.#grpc = createH2Server({
      maxMessageBytes: limits.messageMaxBytes,
      logger: this.#log,
      ...(options.tls ? { tls: { certPem: options.tls.certPem, keyPem: options.tls.keyPem } } : {}),
    });
    const impl: ServiceImplementation<typeof pb.Cluster> = {
      hello: (req, ctx) => this.#unary('Hello', ctx, () => this.#hello(req, ctx)),
      affiliateUpdate: (req, ctx) =>
        this.#unary('AffiliateUpdate', ctx, () => {
          const ttlMs = req.ttl ? Number(req.ttl.seconds) * 1000 + Math.floor(req.ttl.nanos / 1e6) : 0;
          this.state.update(req.clusterId, req.affiliateId, {
            data: req.affiliateData,
            endpoints: req.affiliateEndpoints,
            ttlMs,
          });
          return {};
        }),
      affiliateDelete: (req, ctx) =>
        this.#unary('AffiliateDelete', ctx, () => {
          this.state.delete(req.clusterId, req.affiliateId);
          return {};
        }),
      list: (req, ctx) => this.#unary('List', ctx, () => ({ affiliates: this.state.list(req.clusterId) })),
      watch: (req, ctx) => this.#watch(req.clusterId, ctx),
    };
    registerService(this.#grpc, pb.Cluster, impl);

    const gcMs = options.gcIntervalMs ?? 60_000;
    this.#timers.push(
      setInterval(() => {
        const n = this.state.gc();
        this.metrics.gcCollected += n;
        this.#limiter?.prune();
        if (n > 0) this.#log.debug('collected expired affiliates', { count: n });
      }, gcMs),
    );
    if (options.snapshotPath) {
      const path = options.snapshotPath;
      this.#timers.push(setInterval(() => void this.saveSnapshot().catch((err: unknown) => this.#log.error('snapshot failed', { path, err })), options.snapshotIntervalMs ?? 600_000));
    }
  }

  #admit(method: string, ctx: CallContext): void {
    if (this.#limiter && !this.#limiter.take(peerIp(ctx.peer) || ctx.peer)) {
      throw new TalosError(Code.ResourceExhausted, `rate limit exceeded for ${method}: over ${(this.#opts.rateLimit || defaultRateLimit).perSecond} requests/s from one IP`);
    }
  }

  async #unary<T>(method: string, ctx: CallContext, fn: () => T): Promise<T> {
    try {
      this.#admit(method, ctx);
      const res = fn();
      this.metrics.request(method, 0);
      return res;
    } catch (err) {
      this.metrics.request(method, TalosError.from(err).code);
      throw err;
    }
  }

  #hello(req: pb.HelloRequest, ctx: CallContext): { clientIp: Uint8Array; redirect?: { endpoint: string } } {
    validateClusterId(req.clusterId);
    const clientIp = ipBytes(peerIp(ctx.peer));
    const target = this.#opts.redirect?.(req.clusterId);
    return target ? { clientIp, redirect: { endpoint: target } } : { clientIp };
  }

  async *#watch(clusterId: string, ctx: CallContext): AsyncIterable<{ affiliates: WireAffiliate[]; deleted: boolean }> {
    try {
      this.#admit('Watch', ctx);
      validateClusterId(clusterId);
      this.metrics.request('Watch', 0);
    } catch (err) {
      this.metrics.request('Watch', TalosError.from(err).code);
      throw err;
    }
    // Changed ids collect here while the client reads, and each is sent with the state current at
    // send time: a burst of updates to one affiliate costs one message, memory per watcher is
    // bounded by the ids in play, and writers never wait for a slow reader. Only churn through
    // more distinct ids than a cluster can hold cuts the watcher off (it re-watches for a snapshot).
    const max = this.#opts.watcherPendingMax ?? limits.watcherPendingMax;
    const pending = new Set<string>();
    let overflow = false;
    let wake: (() => void) | undefined;
    const watcher: Watcher = {
      changed: (id) => {
        if (overflow) return;
        if (pending.has(id)) this.metrics.watchCoalesced++;
        else if (pending.size >= max) {
          overflow = true;
          pending.clear();
          this.metrics.watcherOverflows++;
        } else pending.add(id);
        wake?.();
      },
    };
    const stop = (): void => wake?.();
    ctx.signal.addEventListener('abort', stop, { once: true });
    this.#closing.signal.addEventListener('abort', stop, { once: true });
    const { snapshot, unsubscribe } = this.state.subscribe(clusterId, watcher);
    this.#watchers.add(pending);
    try {
      yield { affiliates: snapshot, deleted: false };
      while (!ctx.signal.aborted && !this.#closing.signal.aborted) {
        if (overflow) throw new TalosError(Code.ResourceExhausted, `watcher fell more than ${max} affiliates behind; watch again`);
        const next = pending.values().next();
        if (!next.done) {
          pending.delete(next.value);
          const a = this.state.get(clusterId, next.value);
          yield a ? { affiliates: [a], deleted: false } : { affiliates: [{ id: next.value, data: new Uint8Array(0), endpoints: [] }], deleted: true };
          continue;
        }
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      this.#watchers.delete(pending);
      unsubscribe();
      ctx.signal.removeEventListener('abort', stop);
      this.#closing.signal.removeEventListener('abort', stop);
    }
  }

  /** Ids waiting to be sent, per open watcher; tests use it to prove memory stays bounded. */
  pendingPerWatcher(): number[] {
    return [...this.#watchers].map((p) => p.size);
  }

  /** Loads the snapshot file if one is configured; returns how many affiliates it restored. */
  async loadSnapshot(): Promise<number> {
    if (!this.#opts.snapshotPath) return 0;
    this.#snapshotLoaded = false;
    const res = await readSnapshot(this.#opts.snapshotPath);
    if ('error' in res) throw new TalosError(Code.DataLoss, res.error);
    const n = this.state.import(res.value);
    this.#snapshotLoaded = true;
    this.#log.info('snapshot loaded', { path: this.#opts.snapshotPath, affiliates: n });
    return n;
  }

  /** Writes the snapshot file now (no-op without a snapshot path). */
  async saveSnapshot(): Promise<void> {
    if (this.#opts.snapshotPath && this.#snapshotLoaded) await writeSnapshot(this.#opts.snapshotPath, this.state.export());
  }

  /** Binds the gRPC listener (`127.0.0.1:0` picks a free port) and returns the bound address. */
  async listen(address: string): Promise<BoundAddress> {
    const parsed = splitHostPort(address);
    // `:3000` means every IPv4 address, as with Go listeners.
    const host = parsed.host === '' ? '0.0.0.0' : parsed.host;
    address = joinHostPort(host, parsed.port);
    const bound = await this.#grpc.listen(address).catch((err: unknown) => {
      throw TalosError.from(err, Code.Unavailable);
    });
    const port = Number(bound.slice(bound.lastIndexOf(':') + 1));
    this.#log.info('listening', { address: joinHostPort(host, port), tls: this.#opts.tls !== undefined });
    return { host, port, address: joinHostPort(host, port) };
  }

  /** Serves GET /metrics (Prometheus text) on its own HTTP listener; returns the bound address. */
  async listenMetrics(address: string): Promise<BoundAddress> {
    const parsed = splitHostPort(address);
    const host = parsed.host === '' ? '0.0.0.0' : parsed.host;
    const port = parsed.port;
    const http = createServer((req, res) => {
      if (req.method === 'GET' && (req.url === '/metrics' || req.url?.startsWith('/metrics?'))) {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
        res.end(this.metrics.render(this.state.stats()));
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found\n');
    });
    this.#http = http;
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(port, host, () => resolve());
    });
    const a = http.address();
    const bound = typeof a === 'object' && a ? a.port : port;
    return { host, port: bound, address: joinHostPort(host, bound) };
  }

  /** Stops listeners and timers, ends open watches and writes a last snapshot. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    for (const t of this.#timers) clearInterval(t);
    this.#closing.abort();
    await this.#grpc.close(1000);
    const http = this.#http;
    if (http) {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
    await this.saveSnapshot().catch((err: unknown) => this.#log.error('final snapshot failed', { err }));
  }
}

/** Creates a discovery server and restores its snapshot, if configured. Call `listen` next. */
export async function createDiscoveryServer(options: DiscoveryServerOptions = {}): Promise<DiscoveryServer> {
  const server = new DiscoveryServer(options);
  try {
    await server.loadSnapshot();
  } catch (err) {
    await server[Symbol.asyncDispose]();
    throw err;
  }
  return server;
}
