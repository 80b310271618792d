import { isIP } from 'node:net';
import { bytesToIp, ipToBytes } from '@talos-ts/machinery';

/** An inclusive range of addresses of one family, as integers. */
export interface IpRange {
  readonly family: 4 | 6;
  readonly first: bigint;
  readonly last: bigint;
}

const bits = (family: 4 | 6): number => (family === 4 ? 32 : 128);

function toBig(bytes: Uint8Array): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

/** Text of an address integer of the family. */
export function ipFromBig(family: 4 | 6, n: bigint): string {
  const out = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = Number(n & 0xffn);
    n >>= 8n;
  }
  return bytesToIp(out);
}

/** An address or `addr/bits` as a range; undefined when it does not parse (untrusted input). */
export function parseRange(text: string): IpRange | undefined {
  const [ip = '', len, extra] = text.split('/');
  if (extra !== undefined) return undefined;
  const kind = isIP(ip);
  if (kind !== 4 && kind !== 6) return undefined;
  const family = kind;
  const width = bits(family);
  const prefix = len === undefined ? width : /^\d{1,3}$/.test(len) ? Number(len) : NaN;
  if (!(prefix >= 0 && prefix <= width)) return undefined;
  const host = (1n << BigInt(width - prefix)) - 1n;
  const first = toBig(ipToBytes(ip)) & ~host & ((1n << BigInt(width)) - 1n);
  return { family, first, last: first | host };
}

/**
 * A set of addresses kept as sorted, merged ranges per family: what a peer may route and what the
 * nftables interval sets hold. Only what peer derivation needs: add, remove, overlap, prefixes.
 */
export class IpSet {
  #ranges: IpRange[] = [];

  /** Ranges, IPv4 first, each family ascending and merged. */
  get ranges(): readonly IpRange[] {
    return this.#ranges;
  }

  get isEmpty(): boolean {
    return this.#ranges.length === 0;
  }

  add(r: IpRange): this {
    const all = [...this.#ranges, r].sort((a, b) => a.family - b.family || (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
    const out: IpRange[] = [];
    for (const x of all) {
      const prev = out[out.length - 1];
      if (prev && prev.family === x.family && x.first <= prev.last + 1n) {
        out[out.length - 1] = { family: x.family, first: prev.first, last: x.last > prev.last ? x.last : prev.last };
      } else out.push(x);
    }
    this.#ranges = out;
    return this;
  }

  remove(r: IpRange): this {
    const out: IpRange[] = [];
    for (const x of this.#ranges) {
      if (x.family !== r.family || r.last < x.first || r.first > x.last) {
        out.push(x);
        continue;
      }
      if (x.first < r.first) out.push({ family: x.family, first: x.first, last: r.first - 1n });
      if (x.last > r.last) out.push({ family: x.family, first: r.last + 1n, last: x.last });
    }
    this.#ranges = out;
    return this;
  }

  removeSet(other: IpSet): this {
    for (const r of other.ranges) this.remove(r);
    return this;
  }

  overlaps(other: IpSet): boolean {
    return this.#ranges.some((a) => other.ranges.some((b) => a.family === b.family && a.first <= b.last && b.first <= a.last));
  }

  /** The fewest CIDR prefixes covering exactly the set, IPv4 first. */
  prefixes(): string[] {
    const out: string[] = [];
    for (const r of this.#ranges) {
      const width = bits(r.family);
      let start = r.first;
      while (start <= r.last) {
        let size = 0;
        // Grow the block while it stays aligned at `start` and inside the range.
        while (size < width) {
          const next = 1n << BigInt(size + 1);
          if ((start & (next - 1n)) !== 0n || start + next - 1n > r.last) break;
          size++;
        }
        out.push(`${ipFromBig(r.family, start)}/${width - size}`);
        start += 1n << BigInt(size);
      }
    }
    return out;
  }
}
