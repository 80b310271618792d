// Go text/tabwriter semantics as upstream's tables use them (padding 3, spaces): rows are buffered
// and aligned at each flush, so a watch that flushes per row aligns each row on its own.

/** A tab-aligned table writer over an output function. */
export class TabWriter {
  readonly #out: (text: string) => void;
  #rows: string[][] = [];

  constructor(out: (text: string) => void) {
    this.#out = out;
  }

  /** Buffers one row. */
  row(cells: readonly string[]): void {
    this.#rows.push([...cells]);
  }

  /** Writes the buffered rows aligned (every cell but a row's last padded to its column width + 3). */
  flush(): void {
    this.#out(alignRows(this.#rows));
    this.#rows = [];
  }
}

/** Aligns rows as Go's tabwriter with padding 3 does for uniform tables. */
export function alignRows(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      if (i < row.length - 1) widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) => `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd((widths[i] ?? 0) + 3))).join('')}\n`).join('');
}

/** Go's time.Duration String() of a duration rounded to the second ("1h2m3s", "45s", "0s"). */
export function goDuration(ms: number): string {
  let s = Math.round(Math.max(0, ms) / 1000);
  if (s === 0) return '0s';
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}
