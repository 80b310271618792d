// The cgroup v2 tree as `talosctl cgroups` prints it: the node's /sys/fs/cgroup (arriving as a tar
// stream from the Copy RPC) parsed into values with upstream's semantics (unset, max, fixed-point
// decimals), and the presets' columns. Upstream renders presets with Go templates; we write each
// column as a function, which keeps upstream's column names and formatting without a template engine.

/** A cgroup interface file value: unset (file missing), `max`, or a fixed-point number. */
export type CgValue = { readonly kind: 'unset' } | { readonly kind: 'max' } | { readonly kind: 'num'; readonly val: bigint; readonly frac: number };

const UNSET: CgValue = { kind: 'unset' };

/** Parses one value as the kernel writes them ("max", "123", "0.25"); anything else is unset. */
export function parseValue(s: string): CgValue {
  if (s === 'max') return { kind: 'max' };
  const m = /^(-?\d+)(?:\.(\d+))?$/.exec(s);
  if (!m) return UNSET;
  const frac = m[2]?.length ?? 0;
  return { kind: 'num', val: BigInt(`${m[1]}${m[2] ?? ''}`), frac };
}

/** The value as text: "unset", "max", or the decimal with its fraction digits. */
export function valueString(v: CgValue): string {
  if (v.kind === 'unset') return 'unset';
  if (v.kind === 'max') return 'max';
  if (v.frac === 0) return v.val.toString();
  const neg = v.val < 0n;
  let s = (neg ? -v.val : v.val).toString().padStart(v.frac + 1, '0');
  s = `${s.slice(0, s.length - v.frac)}.${s.slice(s.length - v.frac)}`;
  return neg ? `-${s}` : s;
}

/** go-humanize IBytes ("1.5 KiB", "960 MiB"); unset, max and fractions print as they are. */
export function humanizeIBytes(v: CgValue): string {
  if (v.kind !== 'num' || v.frac > 0) return valueString(v);
  if (v.val < 10n) return `${v.val} B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  const x = Number(v.val);
  const e = Math.min(Math.floor(Math.log(x) / Math.log(1024)), units.length - 1);
  const r = Math.floor((x / 1024 ** e) * 10 + 0.5) / 10;
  return `${r < 10 ? r.toFixed(1) : r.toFixed(0)} ${units[e]}`;
}

/** a / b in percent with two decimals, with upstream's rules for unset, max and zero. */
export function divideBy(a: CgValue, b: CgValue): CgValue {
  if (a.kind === 'unset' || b.kind === 'unset') return UNSET;
  if (b.kind === 'max' && a.kind !== 'max') return { kind: 'num', val: 0n, frac: 2 };
  if (a.kind === 'max' && b.kind === 'max') return { kind: 'num', val: 10000n, frac: 2 };
  if (a.kind === 'max' || (b.kind === 'num' && b.val === 0n)) return { kind: 'max' };
  const x = Number(a.val) / 10 ** a.frac;
  const y = Number((b as { val: bigint }).val) / 10 ** (b as { frac: number }).frac;
  return { kind: 'num', val: BigInt(Math.round((x / y) * 100 * 100)), frac: 2 };
}

/** Microseconds as Go's time.Duration prints them ("1.5s", "2m3s", "250ms", "0s"). */
export function usecToDuration(v: CgValue): string {
  if (v.kind !== 'num') return valueString(v);
  return goDuration(v.val * 1000n);
}

/** Go's Duration.String for a count of nanoseconds. */
export function goDuration(ns: bigint): string {
  if (ns === 0n) return '0s';
  const neg = ns < 0n;
  let u = neg ? -ns : ns;
  const sign = neg ? '-' : '';
  const frac = (n: bigint, digits: number): string => {
    const s = n.toString().padStart(digits, '0').replace(/0+$/, '');
    return s === '' ? '' : `.${s}`;
  };
  if (u < 1_000_000_000n) {
    if (u < 1000n) return `${sign}${u}ns`;
    if (u < 1_000_000n) return `${sign}${u / 1000n}${frac(u % 1000n, 3)}µs`;
    return `${sign}${u / 1_000_000n}${frac(u % 1_000_000n, 6)}ms`;
  }
  const secs = u / 1_000_000_000n;
  const nanos = u % 1_000_000_000n;
  u = secs;
  const h = u / 3600n;
  const m = (u % 3600n) / 60n;
  const s = u % 60n;
  let out = `${s}${frac(nanos, 9)}s`;
  if (h > 0n || m > 0n) out = `${m}m${out}`;
  if (h > 0n) out = `${h}h${out}`;
  return `${sign}${out}`;
}

/** One cgroup: its interface files (raw text) and child cgroups. */
export interface CgroupNode {
  readonly files: Map<string, string>;
  readonly children: Map<string, CgroupNode>;
}

/** An empty node. */
export function newNode(): CgroupNode {
  return { files: new Map(), children: new Map() };
}

/** Puts a file at a path relative to the tree root ("kubepods/cpu.stat"), creating the cgroups on the way. */
export function addFile(root: CgroupNode, relPath: string, content: string): void {
  const parts = relPath.split('/').filter((p) => p !== '' && p !== '.');
  const file = parts.pop();
  if (file === undefined) return;
  let node = root;
  for (const p of parts) {
    let next = node.children.get(p);
    if (!next) node.children.set(p, (next = newNode()));
    node = next;
  }
  node.files.set(file, content);
}

/** Adds a (possibly empty) cgroup directory. */
export function addDir(root: CgroupNode, relPath: string): void {
  let node = root;
  for (const p of relPath.split('/').filter((x) => x !== '' && x !== '.')) {
    let next = node.children.get(p);
    if (!next) node.children.set(p, (next = newNode()));
    node = next;
  }
}

/** The value of a one-value file (cpu.weight, memory.current …). */
export function single(n: CgroupNode, file: string): CgValue {
  const t = n.files.get(file)?.trim();
  return t === undefined || t === '' ? UNSET : parseValue(t.split(/\s+/)[0] as string);
}

/** A space-separated file (cpu.max: "max 100000"): its raw text, "unset" when missing. */
export function raw(n: CgroupNode, file: string): string {
  const t = n.files.get(file)?.trim();
  return t === undefined ? 'unset' : t;
}

/** A flat-keyed file (cpu.stat: "usage_usec 123" lines). */
export function flat(n: CgroupNode, file: string, key: string): CgValue {
  for (const line of (n.files.get(file) ?? '').split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k === key && v !== undefined) return parseValue(v);
  }
  return UNSET;
}

/** A nested-keyed file (pressure: "some avg10=0.00 …"; io.stat: "8:0 rbytes=…"): key → field → value. */
export function nested(n: CgroupNode, file: string): Map<string, Map<string, CgValue>> {
  const out = new Map<string, Map<string, CgValue>>();
  for (const line of (n.files.get(file) ?? '').split('\n')) {
    const [key, ...pairs] = line.trim().split(/\s+/);
    if (!key) continue;
    const m = new Map<string, CgValue>();
    for (const p of pairs) {
      const eq = p.indexOf('=');
      if (eq > 0) m.set(p.slice(0, eq), parseValue(p.slice(eq + 1)));
    }
    out.set(key, m);
  }
  return out;
}

/** Newline-separated lists (cgroup.procs, cgroup.threads). */
export function list(n: CgroupNode, file: string): string[] {
  return (n.files.get(file) ?? '').split('\n').map((l) => l.trim()).filter((l) => l !== '');
}

/** What a column sees: the cgroup, its parent, and names resolved on the client (pids, devices). */
export interface RowContext {
  readonly node: CgroupNode;
  readonly parent: CgroupNode | undefined;
  readonly processName: (pid: string) => string;
  readonly deviceName: (majMin: string) => string;
}

/** One preset column: upstream's header and a renderer. */
export interface Column {
  readonly name: string;
  render(ctx: RowContext): string;
}

const pad = (s: string, width: number): string => s.padStart(width);
const pct = (v: CgValue): string => valueString(v);
const pressure = (n: CgroupNode, file: string, kind: string, field: string): CgValue => nested(n, file).get(kind)?.get(field) ?? UNSET;

function ioBytes(ctx: RowContext): string {
  let out = '';
  for (const [dev, v] of [...nested(ctx.node, 'io.stat')].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (v.size === 0) continue;
    out += `${ctx.deviceName(dev)}: ${humanizeIBytes(v.get('rbytes') ?? UNSET)}/${humanizeIBytes(v.get('wbytes') ?? UNSET)} `;
  }
  return out;
}

function ioOps(ctx: RowContext): string {
  if (!ctx.parent) return '';
  let out = '';
  for (const [dev, v] of [...nested(ctx.node, 'io.stat')].sort(([a], [b]) => (a < b ? -1 : 1))) {
    out += `${ctx.deviceName(dev)}: ${valueString(v.get('rios') ?? UNSET)}/${valueString(v.get('wios') ?? UNSET)} `;
  }
  return out;
}

const ioColumns: Column[] = [
  { name: 'Bytes Read/Written', render: ioBytes },
  { name: 'ios Read/Write', render: ioOps },
  { name: 'PressAvg10', render: ({ node }) => pad(pct(pressure(node, 'io.pressure', 'some', 'avg10')), 6) },
  { name: 'PressAvg60', render: ({ node }) => pad(pct(pressure(node, 'io.pressure', 'some', 'avg60')), 6) },
  { name: 'PressTotal', render: ({ node }) => pad(usecToDuration(pressure(node, 'io.pressure', 'some', 'total')), 12) },
];

/** Upstream's presets, by name, with their columns in order. */
export const presets: Readonly<Record<string, readonly Column[]>> = {
  cpu: [
    { name: 'CpuWeight', render: ({ node }) => pad(valueString(single(node, 'cpu.weight')), 6) },
    { name: 'CpuNice', render: ({ node }) => pad(valueString(single(node, 'cpu.weight.nice')), 6) },
    { name: 'CpuMax', render: ({ node }) => pad(raw(node, 'cpu.max'), 6) },
    { name: 'CpuUser', render: ({ node }) => pad(usecToDuration(flat(node, 'cpu.stat', 'user_usec')), 12) },
    { name: 'User/%', render: ({ node, parent }) => (parent ? `${pad(pct(divideBy(flat(node, 'cpu.stat', 'user_usec'), flat(parent, 'cpu.stat', 'user_usec'))), 6)}%` : '-') },
    { name: 'CpuSystem', render: ({ node }) => pad(usecToDuration(flat(node, 'cpu.stat', 'system_usec')), 12) },
    { name: 'System/%', render: ({ node, parent }) => (parent ? `${pad(pct(divideBy(flat(node, 'cpu.stat', 'system_usec'), flat(parent, 'cpu.stat', 'system_usec'))), 6)}%` : '-') },
    { name: 'Throttled', render: ({ node }) => pad(usecToDuration(flat(node, 'cpu.stat', 'throttled_usec')), 12) },
  ],
  cpuset: [
    { name: 'CpuSet', render: ({ node }) => pad(raw(node, 'cpuset.cpus'), 12) },
    { name: 'CpuSet(Eff)', render: ({ node }) => pad(raw(node, 'cpuset.cpus.effective'), 12) },
    { name: 'Mems', render: ({ node }) => pad(raw(node, 'cpuset.mems'), 12) },
    { name: 'Mems(Eff)', render: ({ node }) => pad(raw(node, 'cpuset.mems.effective'), 12) },
  ],
  io: ioColumns,
  memory: [
    { name: 'MemCurrent', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.current')), 8) },
    { name: 'MemPeak', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.peak')), 8) },
    { name: 'MemLow', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.low')), 8) },
    { name: 'Peak/Low', render: ({ node }) => `${pad(pct(divideBy(single(node, 'memory.peak'), single(node, 'memory.low'))), 6)}%` },
    { name: 'MemHigh', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.high')), 8) },
    { name: 'MemMin', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.min')), 8) },
    { name: 'Current/Min', render: ({ node }) => `${pad(pct(divideBy(single(node, 'memory.current'), single(node, 'memory.min'))), 6)}%` },
    { name: 'MemMax', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.max')), 8) },
  ],
  process: [
    { name: 'PidsCurrent', render: ({ node }) => pad(valueString(single(node, 'pids.current')), 8) },
    { name: 'PidsPeak', render: ({ node }) => pad(valueString(single(node, 'pids.peak')), 8) },
    { name: 'PidsMax', render: ({ node }) => pad(valueString(single(node, 'pids.max')), 8) },
    { name: 'Procs', render: ({ node }) => pad(String(list(node, 'cgroup.procs').length), 7) },
    { name: 'Threads', render: ({ node }) => pad(String(list(node, 'cgroup.threads').length), 7) },
    // Go's %s of a string slice is "[a b c]"; %.50s cuts it at 50 characters.
    { name: 'Processes', render: (ctx) => (ctx.parent ? `[${list(ctx.node, 'cgroup.procs').map(ctx.processName).join(' ')}]`.slice(0, 50) : '') },
    ...ioColumns,
  ],
  psi: [
    { name: 'MemCurrent', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.current')), 8) },
    { name: 'MemPsiSome10', render: ({ node }) => pad(pct(pressure(node, 'memory.pressure', 'some', 'avg10')), 6) },
    { name: 'MemPsi10', render: ({ node }) => pad(pct(pressure(node, 'memory.pressure', 'full', 'avg10')), 6) },
    { name: 'CpuPsi10', render: ({ node }) => pad(pct(pressure(node, 'cpu.pressure', 'full', 'avg10')), 6) },
    { name: 'IoPsi10', render: ({ node }) => pad(pct(pressure(node, 'io.pressure', 'full', 'avg10')), 6) },
  ],
  swap: [
    { name: 'SwapCurrent', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.swap.current')), 8) },
    { name: 'SwapPeak', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.swap.peak')), 8) },
    { name: 'SwapHigh', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.swap.high')), 8) },
    { name: 'SwapMax', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.swap.max')), 8) },
    { name: 'ZswapCurrent', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.zswap.current')), 8) },
    { name: 'ZswapMax', render: ({ node }) => pad(humanizeIBytes(single(node, 'memory.zswap.max')), 8) },
    { name: 'ZswapWriteback', render: ({ node }) => valueString(single(node, 'memory.zswap.writeback')) },
  ],
};

/**
 * Rows of the tree, depth first with children sorted by name, each `[name with tree edges, ...columns]`
 * drawn as upstream does ("├──", "└──", "│" with three spaces of indent; the root is ".").
 */
export function renderTree(root: CgroupNode, columns: readonly Column[], resolve: Pick<RowContext, 'processName' | 'deviceName'>): string[][] {
  const rows: string[][] = [];
  const walk = (name: string, node: CgroupNode, parent: CgroupNode | undefined, level: number, ended: readonly number[], last: boolean, isRoot: boolean): void => {
    let prefix = '';
    for (let i = 0; i < level; i++) prefix += ended.includes(i) ? ' '.repeat(4) : '│   ';
    const edge = isRoot ? '' : last ? '└──' : '├──';
    const ctx: RowContext = { node, parent, ...resolve };
    rows.push([`${prefix}${edge}${name}`, ...columns.map((c) => c.render(ctx))]);
    const endedHere = last ? [...ended, level] : ended;
    const next = isRoot ? level : level + 1;
    const names = [...node.children.keys()].sort();
    names.forEach((child, i) => walk(child, node.children.get(child) as CgroupNode, node, next, endedHere, i === names.length - 1, false));
  };
  walk('.', root, undefined, 0, [], false, true);
  return rows;
}
