// Per-source limits on failed token attempts, and the aggregation of what trustd logs about them.
// trustd answers anyone who can open TLS to :50001 (no client certificate), so both the work done
// for a wrong token and the log lines it produces must be bounded per source and in total.

import { isIPv4, isIPv6 } from 'node:net';

/** Failed attempts a source may make in a burst before it is refused outright. */
export const DEFAULT_FAILURE_BURST = 10;
/** Failed attempts per second a source earns back once its burst is spent. */
export const DEFAULT_FAILURE_REFILL_PER_SECOND = 1;
/** Sources tracked at most; beyond it the least recently seen is forgotten. */
export const DEFAULT_MAX_TRACKED_SOURCES = 4096;
/** One log line per source per interval, carrying the count of refusals since the last. */
export const DEFAULT_REFUSAL_LOG_INTERVAL_MS = 60_000;
/** Refusal log lines across all sources: a burst of this many, then one per second. */
export const DEFAULT_REFUSAL_LOG_BURST = 10;

/** Options of {@link FailedTokenLimiter}; every field has a default. */
export interface FailedTokenLimiterOptions {
  readonly burst?: number;
  readonly refillPerSecond?: number;
  readonly maxSources?: number;
  readonly logIntervalMs?: number;
  readonly logBurst?: number;
  /** Milliseconds since the epoch; a fake clock in tests. */
  readonly now?: () => number;
}

/** What to log about refusals from one source: counts since the previous line for it. */
export interface RefusalReport {
  readonly source: string;
  /** Wrong or missing tokens. */
  readonly wrongToken: number;
  /** Requests refused without looking at the token, the source being over its limit. */
  readonly rateLimited: number;
  /** Refusals from other sources that were forgotten or left unlogged to keep the log bounded. */
  readonly unloggedElsewhere: number;
}

interface Entry {
  tokens: number;
  refilledAtMs: number;
  wrongToken: number;
  rateLimited: number;
  loggedAtMs: number;
}

/**
 * Token buckets of failed attempts keyed by source, in a map of bounded size. Only failures spend
 * tokens, so a node presenting the right token is never slowed; a source that has spent its
 * burst is refused whatever it presents until it earns a token back, which also stops it from
 * learning whether a guess was right.
 *
 * Written here rather than taken from a rate-limit package: the ones on npm key by string with
 * timers or TTL caches and none combines the bounded map with the log aggregation we need.
 */
export class FailedTokenLimiter {
  readonly #burst: number;
  readonly #refillPerMs: number;
  readonly #maxSources: number;
  readonly #logIntervalMs: number;
  readonly #now: () => number;
  /** Insertion order is recency: a touched entry is moved to the end, eviction takes the first. */
  readonly #sources = new Map<string, Entry>();
  readonly #logBucket: Entry;
  readonly #logBurst: number;
  #unloggedElsewhere = 0;

  constructor(options: FailedTokenLimiterOptions = {}) {
    this.#burst = options.burst ?? DEFAULT_FAILURE_BURST;
    this.#refillPerMs = (options.refillPerSecond ?? DEFAULT_FAILURE_REFILL_PER_SECOND) / 1000;
    this.#maxSources = Math.max(1, options.maxSources ?? DEFAULT_MAX_TRACKED_SOURCES);
    this.#logIntervalMs = options.logIntervalMs ?? DEFAULT_REFUSAL_LOG_INTERVAL_MS;
    this.#logBurst = options.logBurst ?? DEFAULT_REFUSAL_LOG_BURST;
    this.#now = options.now ?? Date.now;
    this.#logBucket = this.#fresh(this.#logBurst);
  }

  /** Sources currently tracked (bounded by `maxSources`). */
  get trackedSources(): number {
    return this.#sources.size;
  }

  /** True when the source may present a token now; false means refuse it without further work. */
  allows(source: string): boolean {
    const e = this.#sources.get(source);
    if (e === undefined) return true;
    refill(e, this.#now(), this.#refillPerMs, this.#burst);
    return e.tokens >= 1;
  }

  /** Records a wrong or missing token; returns what to log, if a line is due. */
  wrongToken(source: string): RefusalReport | undefined {
    const e = this.#touch(source);
    e.tokens = Math.max(0, e.tokens - 1);
    e.wrongToken++;
    return this.#report(source, e);
  }

  /** Records a request refused by the limit; returns what to log, if a line is due. */
  rateLimited(source: string): RefusalReport | undefined {
    const e = this.#touch(source);
    e.rateLimited++;
    return this.#report(source, e);
  }

  #fresh(tokens: number): Entry {
    return { tokens, refilledAtMs: this.#now(), wrongToken: 0, rateLimited: 0, loggedAtMs: -Infinity };
  }

  #touch(source: string): Entry {
    const now = this.#now();
    let e = this.#sources.get(source);
    if (e !== undefined) {
      this.#sources.delete(source);
      refill(e, now, this.#refillPerMs, this.#burst);
    } else {
      while (this.#sources.size >= this.#maxSources) {
        const [oldest, gone] = this.#sources.entries().next().value as [string, Entry];
        this.#sources.delete(oldest);
        this.#unloggedElsewhere += gone.wrongToken + gone.rateLimited;
      }
      e = this.#fresh(this.#burst);
    }
    this.#sources.set(source, e);
    return e;
  }

  #report(source: string, e: Entry): RefusalReport | undefined {
    const now = this.#now();
    if (now - e.loggedAtMs < this.#logIntervalMs) return undefined;
    // The global budget: a flood from many sources still writes about one line a second.
    refill(this.#logBucket, now, 1 / 1000, this.#logBurst);
    if (this.#logBucket.tokens < 1) return undefined;
    this.#logBucket.tokens--;
    const report: RefusalReport = { source, wrongToken: e.wrongToken, rateLimited: e.rateLimited, unloggedElsewhere: this.#unloggedElsewhere };
    e.loggedAtMs = now;
    e.wrongToken = 0;
    e.rateLimited = 0;
    this.#unloggedElsewhere = 0;
    return report;
  }
}

function refill(e: Entry, nowMs: number, perMs: number, cap: number): void {
  const elapsed = Math.max(0, nowMs - e.refilledAtMs);
  e.tokens = Math.min(cap, e.tokens + elapsed * perMs);
  e.refilledAtMs = nowMs;
}

/**
 * The key a peer address (`ip:port`, `[ip6]:port`) is limited under: the IPv4 address, or the
 * /64 of an IPv6 one, since a single host usually holds a whole /64 and could otherwise rotate
 * through addresses. IPv4-mapped IPv6 addresses count as their IPv4 address.
 */
export function limiterSource(peer: string): string {
  let host = peer;
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(peer);
  if (bracketed) host = bracketed[1] ?? '';
  else if (/^[^:]+:\d+$/.test(peer)) host = peer.slice(0, peer.lastIndexOf(':'));
  host = host.replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(host);
  if (mapped) host = mapped[1] ?? host;
  if (isIPv4(host)) return host;
  if (!isIPv6(host)) return peer;
  return `${ipv6Groups(host).slice(0, 4).join(':')}::/64`;
}

function ipv6Groups(ip: string): string[] {
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return groups.map((g) => (g.includes('.') ? g : parseInt(g, 16).toString(16)));
}
