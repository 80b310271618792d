/** Options of {@link IpRateLimiter}. */
export interface RateLimitOptions {
  readonly perSecond: number;
  readonly burst: number;
}

/** Upstream's per-IP limit: 15 requests per second with bursts of 60. */
export const defaultRateLimit: RateLimitOptions = { perSecond: 15, burst: 60 };

interface Bucket {
  tokens: number;
  at: number;
}

/** A token bucket per client IP; buckets that have refilled are dropped so memory stays bounded. */
export class IpRateLimiter {
  readonly #opts: RateLimitOptions;
  readonly #now: () => number;
  readonly #buckets = new Map<string, Bucket>();

  constructor(opts: RateLimitOptions, now: () => number = () => performance.now()) {
    this.#opts = opts;
    this.#now = now;
  }

  /** Takes one token for ip; false when the bucket is empty. */
  take(ip: string): boolean {
    const now = this.#now();
    const b = this.#buckets.get(ip) ?? { tokens: this.#opts.burst, at: now };
    b.tokens = Math.min(this.#opts.burst, b.tokens + ((now - b.at) / 1000) * this.#opts.perSecond);
    b.at = now;
    if (b.tokens < 1) {
      this.#buckets.set(ip, b);
      return false;
    }
    b.tokens -= 1;
    this.#buckets.set(ip, b);
    return true;
  }

  /** Forgets buckets that are full again (they behave exactly like new ones). */
  prune(): void {
    const now = this.#now();
    const fullAfterMs = (this.#opts.burst / this.#opts.perSecond) * 1000;
    for (const [ip, b] of this.#buckets) if (now - b.at >= fullAfterMs) this.#buckets.delete(ip);
  }

  /** Number of tracked IPs. */
  get size(): number {
    return this.#buckets.size;
  }
}
