// What a fuzz run found: inputs per category, findings by kind, latencies. The tests assert on
// it; the benchmark prints it as JSON.

/** The kinds of failure the oracles know. */
export type FindingKind =
  /** A process under test died (or a call threw out of an in-process parser). */
  | 'crash'
  /** A call did not come back within its bound. */
  | 'hang'
  /** An input the mutation knows to be invalid was accepted. */
  | 'accepted-invalid'
  /** An accepted config is not what is stored / loaded (bytes or meaning changed). */
  | 'stored-differs'
  /** Bad input answered with an internal error (Internal/Unknown, a TypeError…) instead of a clear rejection. */
  | 'wrong-status'
  /** The node stopped answering Version after an attack. */
  | 'unavailable'
  /** After a fault the node opened maintenance mode although a config was stored. */
  | 'maintenance-with-config'
  /** After a fault a stored file is neither the old nor the new content. */
  | 'torn-state'
  /** A second machined ran on a state directory already in use. */
  | 'second-instance'
  /** A controller or service restarted over and over after a fault. */
  | 'crash-loop'
  /** Distinct answers for unreachable targets (a port-scan oracle) or unbounded fan-out. */
  | 'oracle-leak'
  /** Something grew without bound (log bytes per request, certificate size). */
  | 'unbounded';

/** One failure, with what is needed to replay it. */
export interface Finding {
  readonly kind: FindingKind;
  readonly category: string;
  readonly seed: number;
  readonly detail: string;
}

/** Counts and findings of one fuzz run. */
export class FuzzReport {
  readonly seed: number;
  readonly inputs = new Map<string, number>();
  readonly findings: Finding[] = [];
  readonly #latencies = new Map<string, number[]>();
  readonly #maxDetail: number;

  constructor(seed: number, options: { maxDetailChars?: number } = {}) {
    this.seed = seed;
    this.#maxDetail = options.maxDetailChars ?? 300;
  }

  /** Counts one input tried in a category. */
  count(category: string, n = 1): void {
    this.inputs.set(category, (this.inputs.get(category) ?? 0) + n);
  }

  /** Records a failure; the detail is cut so a huge echoed input does not flood the output. */
  fail(kind: FindingKind, category: string, detail: string, seed = this.seed): void {
    const d = detail.length > this.#maxDetail ? `${detail.slice(0, this.#maxDetail)}…(${detail.length} chars)` : detail;
    this.findings.push({ kind, category, seed, detail: d });
  }

  /** Records one latency sample (ms) of a named probe. */
  latency(name: string, ms: number): void {
    let l = this.#latencies.get(name);
    if (!l) this.#latencies.set(name, (l = []));
    l.push(ms);
  }

  /** Percentiles of a probe's samples. */
  percentiles(name: string): { n: number; p50: number; p99: number; max: number } {
    const l = [...(this.#latencies.get(name) ?? [])].sort((a, b) => a - b);
    const at = (q: number): number => (l.length === 0 ? 0 : (l[Math.min(l.length - 1, Math.floor(q * l.length))] as number));
    return { n: l.length, p50: round(at(0.5)), p99: round(at(0.99)), max: round(l[l.length - 1] ?? 0) };
  }

  /** Number of findings of a kind (all kinds without one). */
  countOf(kind?: FindingKind): number {
    return kind === undefined ? this.findings.length : this.findings.filter((f) => f.kind === kind).length;
  }

  /** Findings grouped by kind and category with one example each (what a human reads first). */
  summary(): { kind: FindingKind; category: string; count: number; example: string; seed: number }[] {
    const groups = new Map<string, { kind: FindingKind; category: string; count: number; example: string; seed: number }>();
    for (const f of this.findings) {
      const k = `${f.kind}|${f.category}`;
      const g = groups.get(k);
      if (g) g.count++;
      else groups.set(k, { kind: f.kind, category: f.category, count: 1, example: f.detail, seed: f.seed });
    }
    return [...groups.values()];
  }

  /** Merges another report's counts, findings and samples into this one. */
  merge(other: FuzzReport): void {
    for (const [k, v] of other.inputs) this.count(k, v);
    this.findings.push(...other.findings);
    for (const [k, l] of other.#latencies) for (const v of l) this.latency(k, v);
  }

  /** A text block for an assertion message: the seed to replay and every finding group. */
  describe(): string {
    const lines = [`FUZZ_SEED=${this.seed} (replay with this environment variable)`];
    for (const g of this.summary()) lines.push(`  ${g.kind} × ${g.count} [${g.category}] seed ${g.seed}: ${g.example}`);
    return lines.join('\n');
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
