/** Options of {@link lineDiff}. */
export interface LineDiffOptions {
  /**
   * Most changed lines to compute and show (default 1000). The search keeps one row of (2d+1)
   * integers per edit step, so memory is bounded by (maxEdits+1)² integers (4 MB at the default)
   * plus the two inputs, whatever their size.
   */
  readonly maxEdits?: number;
  /** Most line comparisons to spend (default 20 million), so a huge input cannot stall the event loop. */
  readonly maxWork?: number;
}

/** One edit: line `index` of the old text removed, or line `index` of the new text added. */
export interface LineEdit {
  readonly op: '-' | '+';
  readonly index: number;
  readonly line: string;
}

/** Result of {@link diffLines}: the edit script, or how far the search got before its caps. */
export type LineDiffResult =
  | { readonly edits: readonly LineEdit[] }
  | { readonly tooLarge: true; readonly atLeast: number };

/**
 * A line diff of two texts (what dry-run reports): `-` removed and `+` added lines, in order; or,
 * past the caps, one line saying how many lines differ at least.
 */
export function lineDiff(before: string, after: string, options: LineDiffOptions = {}): string {
  const r = diffLines(before, after, options);
  if ('tooLarge' in r) return `The configurations differ in at least ${r.atLeast} lines; the diff is too large to show.`;
  return r.edits.length === 0 ? 'No changes.' : r.edits.map((e) => `${e.op}${e.line}`).join('\n');
}

/**
 * Myers' O((N+M)·D) shortest edit script over lines, with D capped. Written here rather than taken
 * from a package: what matters is a hard bound on memory and work for a config sent by a client
 * (machined is PID 1 on metal), and the ~60 lines below make both bounds plain.
 */
export function diffLines(before: string, after: string, options: LineDiffOptions = {}): LineDiffResult {
  const maxEdits = options.maxEdits ?? 1000;
  const maxWork = options.maxWork ?? 20_000_000;
  const aLines = before.split('\n');
  const bLines = after.split('\n');
  // Lines become small integers, so each comparison is one integer compare, not a string compare.
  const ids = new Map<string, number>();
  const intern = (lines: string[]): Int32Array => Int32Array.from(lines, (l) => ids.get(l) ?? (ids.set(l, ids.size), ids.size - 1));
  const a = intern(aLines);
  const b = intern(bLines);

  // Common head and tail are not part of the search.
  let lo = 0;
  while (lo < a.length && lo < b.length && a[lo] === b[lo]) lo++;
  let aHi = a.length;
  let bHi = b.length;
  while (aHi > lo && bHi > lo && a[aHi - 1] === b[bHi - 1]) {
    aHi--;
    bHi--;
  }
  const n = aHi - lo;
  const m = bHi - lo;
  // Two cheap lower bounds of the distance settle most oversized diffs before any search.
  const floor = Math.max(Math.abs(n - m), multisetDistance(a, b, lo, aHi, bHi));
  if (floor > maxEdits) return { tooLarge: true, atLeast: floor };
  const max = Math.min(n + m, maxEdits);
  const off = max + 1;
  const v = new Int32Array(2 * max + 3);
  // trace[d] is v over k ∈ [-d, d] as it stood before step d: what the walk back needs.
  const trace: Int32Array[] = [];
  let work = 0;
  let found = -1;
  for (let d = 0; d <= max && found < 0; d++) {
    trace.push(v.slice(off - d, off + d + 1));
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1]! < v[off + k + 1]!) ? v[off + k + 1]! : v[off + k - 1]! + 1;
      let y = x - k;
      const start = x;
      while (x < n && y < m && a[lo + x] === b[lo + y]) {
        x++;
        y++;
      }
      work += 1 + x - start;
      v[off + k] = x;
      if (x >= n && y >= m) {
        found = d;
        break;
      }
    }
    if (found < 0 && work > maxWork) return { tooLarge: true, atLeast: Math.max(d + 1, floor) };
  }
  if (found < 0) return { tooLarge: true, atLeast: Math.max(max + 1, floor) };

  // Walk back from (n, m) through the steps, collecting the edits in reverse.
  const reversed: LineEdit[] = [];
  let x = n;
  let y = m;
  for (let d = found; d > 0; d--) {
    const row = trace[d]!;
    const at = (k: number): number => row[k + d]!;
    const k = x - y;
    const prevK = k === -d || (k !== d && at(k - 1) < at(k + 1)) ? k + 1 : k - 1;
    const prevX = at(prevK);
    const prevY = prevX - prevK;
    while (x > prevX && y > prevY) {
      x--;
      y--;
    }
    if (x === prevX) reversed.push({ op: '+', index: lo + prevY, line: bLines[lo + prevY]! });
    else reversed.push({ op: '-', index: lo + prevX, line: aLines[lo + prevX]! });
    x = prevX;
    y = prevY;
  }
  return { edits: reversed.reverse() };
}

// Lines only in one side, counted with multiplicity: a lower bound of the edit distance, in linear time.
function multisetDistance(a: Int32Array, b: Int32Array, lo: number, aHi: number, bHi: number): number {
  const count = new Map<number, number>();
  for (let i = lo; i < aHi; i++) count.set(a[i]!, (count.get(a[i]!) ?? 0) + 1);
  for (let j = lo; j < bHi; j++) count.set(b[j]!, (count.get(b[j]!) ?? 0) - 1);
  let total = 0;
  for (const c of count.values()) total += Math.abs(c);
  return total;
}
