// A seeded pseudo-random generator for fuzzing. Our own (sfc32, a few lines) rather than
// fast-check's: the fuzz loops need plain draws they can replay from one printed number, not
// property shrinking, and the same generator must drive in-process and over-the-wire inputs alike.

/** A reproducible random source; the same seed gives the same draws. */
export interface Rng {
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty list. */
  pick<T>(list: readonly T[]): T;
  /** n random bytes. */
  bytes(n: number): Buffer;
  /** A child generator whose draws do not disturb this one's sequence beyond one draw. */
  fork(): Rng;
}

/** A seed from FUZZ_SEED (decimal or 0x…) or the clock; print it so a failure can be replayed. */
export function seedFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const s = env.FUZZ_SEED;
  if (s !== undefined && s !== '') return Number(s) >>> 0;
  return (Date.now() ^ (process.pid << 16)) >>> 0;
}

/** Creates a generator from a 32-bit seed. */
export function createRng(seed: number): Rng {
  let a = 0x9e3779b9;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next32 = (): number => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    let t = (a + b) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    d = (d + 1) | 0;
    t = (t + d) | 0;
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next32();
  const rng: Rng = {
    seed: seed >>> 0,
    next: () => next32() / 4294967296,
    int: (n) => Math.floor((next32() / 4294967296) * n),
    range: (lo, hi) => lo + Math.floor((next32() / 4294967296) * (hi - lo + 1)),
    chance: (p) => next32() / 4294967296 < p,
    pick: <T>(list: readonly T[]): T => list[Math.floor((next32() / 4294967296) * list.length)] as T,
    bytes: (n) => {
      const out = Buffer.allocUnsafe(n);
      for (let i = 0; i < n; i += 4) {
        const v = next32();
        for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (v >>> (k * 8)) & 0xff;
      }
      return out;
    },
    fork: () => createRng(next32()),
  };
  return rng;
}
