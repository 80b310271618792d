// The dashboard's screen as a pure function of its model: exactly `rows` lines, none wider than
// `cols` visible characters, coloured with plain SGR escapes. Layout follows upstream's: a header
// line with the node's key figures, the screen's body, and a footer naming nodes and screens.

import { goDuration } from '../../output/table.ts';
import { humanBytes } from '../etcd/etcd.ts';
import {
  SCREENS,
  screenLayout,
  selectedNode,
  type DashboardModel,
  type Field,
  type NodeSample,
  type NodeState,
  type ProcessSample,
} from './model.ts';

const RESET = '\x1b[0m';
/** SGR styles the screen uses. */
export const STYLE = {
  bold: '\x1b[1m',
  dim: '\x1b[2m',
  red: '\x1b[31m',
  green: '\x1b[32m',
  yellow: '\x1b[33;1m',
  cyan: '\x1b[36m',
  reverse: '\x1b[7m',
} as const;

type Seg = readonly [text: string, style?: string | undefined];

/** Drops SGR and other CSI sequences: what the terminal shows of a rendered line. */
export function visibleText(line: string): string {
  // eslint-disable-next-line no-control-regex -- the escape character is what is matched
  return line.replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '');
}

/** The segments cut or padded to exactly `width` visible characters. */
function fit(segs: readonly Seg[], width: number): Seg[] {
  const out: Seg[] = [];
  let left = width;
  for (const [text, style] of segs) {
    if (left <= 0) break;
    const chars = Array.from(text);
    out.push([chars.length > left ? chars.slice(0, left).join('') : text, style]);
    left -= Math.min(chars.length, left);
  }
  if (left > 0) out.push([' '.repeat(left)]);
  return out;
}

/** One line of exactly `width` visible characters. */
function paint(segs: readonly Seg[], width: number): string {
  return fit(segs, width)
    .map(([text, style]) => (style ? `${style}${text}${RESET}` : text))
    .join('');
}

/** Lays out columns side by side, each cut or padded to its width. */
function columns(parts: readonly (readonly Seg[])[], widths: readonly number[]): Seg[] {
  return parts.flatMap((segs, i) => fit(segs, widths[i] ?? 0));
}

const NA: Seg = ['n/a', STYLE.dim];

function field<T>(f: Field<T> | undefined, format: (v: T) => string, style?: string): Seg {
  if (!f || !('value' in f)) return NA;
  return style ? [format(f.value), style] : [format(f.value)];
}

function value<T>(f: Field<T> | undefined): T | undefined {
  return f && 'value' in f ? f.value : undefined;
}

/** A duration as upstream's header prints it: Go's Duration string with whole days split off (`1d2h3m4s`). */
export function formatUptime(totalSeconds: number): string {
  const s = Math.round(totalSeconds);
  const day = 86_400;
  return s >= day ? `${Math.floor(s / day)}d${goDuration((s % day) * 1000)}` : goDuration(s * 1000);
}

/** A CPU clock as upstream's header writes it: whole MHz below 1 GHz, else GHz to two decimals ("2.2GHz"). */
export function formatCpuFrequency(mhz: number): string {
  const rounded = Math.round(mhz);
  return rounded >= 1000 ? `${Math.round(rounded / 10) / 100}GHz` : `${rounded}MHz`;
}

function percent(v: number | undefined): string {
  return v === undefined ? 'n/a' : `${v.toFixed(1)}%`;
}

function memPercent(sample: NodeSample | undefined): number | undefined {
  const m = value(sample?.memory);
  return m && m.totalBytes > 0 ? ((m.totalBytes - m.availableBytes) / m.totalBytes) * 100 : undefined;
}

function ago(model: DashboardModel, atMs: number): string {
  return formatUptime(Math.max(0, (model.nowMs - atMs) / 1000));
}

// Box corners in the order upstream's spinner turns (they exist in the Linux console's code page).
const SPINNER = ['\u2510', '\u2518', '\u2514', '\u250c'];

function header(model: DashboardModel, node: string, st: NodeState | undefined): Seg[] {
  const s = st?.sample;
  const spin: Seg = [SPINNER[model.ticks % SPINNER.length] ?? ' ', STYLE.green];
  const hostname = value(s?.hostname) || node;
  const version = value(s?.version);
  const procs = value(s?.processes);
  const cpuInfo = value(s?.cpuInfo);
  const mem = value(s?.memory);
  // arm64 kernels give no clock in /proc/cpuinfo: count the CPUs alone there.
  const cpus = cpuInfo ? `${cpuInfo.count}x${cpuInfo.mhz > 0 ? formatCpuFrequency(cpuInfo.mhz) : 'CPU'}` : 'n/a CPU';
  const segs: Seg[] = [
    spin,
    [' '],
    [hostname, STYLE.yellow],
    ...(st?.error ? [[' [unreachable]', STYLE.red] as const] : []),
    [` Talos-TS (${version?.tag ?? 'n/a'}): uptime `],
    field(s?.uptimeSeconds, formatUptime),
    [`, ${cpus}, ${mem ? humanBytes(mem.totalBytes) : 'n/a'} RAM, PROCS ${procs ? procs.length : 'n/a'}`],
    [`, CPU ${percent(st?.cpuPercent)}, RAM ${percent(memPercent(s))}`],
  ];
  return segs;
}

function statusLine(model: DashboardModel, node: string, st: NodeState | undefined): Seg[] {
  if (st?.error) {
    const last = st.sampleAtMs !== undefined ? `; figures below are from ${ago(model, st.sampleAtMs)} ago` : '';
    return [[`✗ ${node}: ${st.error.message} (failing for ${ago(model, st.error.sinceMs)}${last})`, STYLE.red]];
  }
  if (st?.sampleAtMs === undefined) return [[`waiting for ${node}…`, STYLE.dim]];
  return [[`${node}: updated ${ago(model, st.sampleAtMs)} ago, every ${formatUptime(model.intervalMs / 1000)}`, STYLE.dim]];
}

function footer(model: DashboardModel): Seg[] {
  const segs: Seg[] = [['[']];
  model.nodes.forEach((n, i) => {
    if (i > 0) segs.push([' | ']);
    segs.push(i === model.selected ? [n, STYLE.red + STYLE.bold] : [n]);
  });
  segs.push(['] --- ']);
  SCREENS.forEach((s, i) => {
    if (i > 0) segs.push([' --- ']);
    segs.push(s.screen === model.screen ? ['['] : [`[${s.key}: `]);
    segs.push(s.screen === model.screen ? [s.title, STYLE.red] : [s.title]);
    segs.push([']']);
  });
  if (model.paused) segs.push([' --- ['], ['PAUSED', STYLE.yellow], [']']);
  return segs;
}

/** Key/value rows of one info column: a bold title then `KEY  value` lines. */
function infoColumn(title: string, rows: readonly (readonly [string, Seg])[], height: number, keyWidth: number): Seg[][] {
  const out: Seg[][] = [[[title, STYLE.bold]]];
  for (const [k, v] of rows.slice(0, height - 1)) out.push([[k.padEnd(keyWidth), STYLE.cyan], v]);
  while (out.length < height) out.push([]);
  return out;
}

function summaryBody(model: DashboardModel, node: string, st: NodeState | undefined): Seg[][] {
  const s = st?.sample;
  const { infoRows, paneRows } = screenLayout(model);
  const version = value(s?.version);
  const fromVersion = (pick: (v: NonNullable<typeof version>) => string): Seg =>
    s && 'value' in s.version ? [pick(s.version.value) || 'n/a'] : NA;
  const talos = infoColumn(
    'TALOS-TS',
    [
      ['VERSION', fromVersion((v) => v.tag)],
      ['PLATFORM', fromVersion((v) => v.platform)],
      ['ARCH', fromVersion((v) => v.arch)],
      ['TYPE', field(s?.machineType, (t) => t)],
      ['UPTIME', field(s?.uptimeSeconds, formatUptime)],
      ['LOAD', field(s?.loadAvg, (l) => l.map((x) => x.toFixed(2)).join(' '))],
    ],
    infoRows,
    10,
  );
  const services: (readonly [string, Seg])[] = [];
  const list = s?.services;
  if (list && 'value' in list) {
    const shown = list.value.length > infoRows - 1 ? list.value.slice(0, infoRows - 2) : list.value;
    for (const svc of shown) {
      const health = svc.health === 'ok' ? 'OK' : svc.health === 'fail' ? 'FAIL' : '?';
      const style = svc.state !== 'Running' ? STYLE.yellow : svc.health === 'fail' ? STYLE.red : STYLE.green;
      services.push([svc.id, [`${svc.state.padEnd(10)} ${health}`, style]]);
    }
    if (shown.length < list.value.length) services.push([`+${list.value.length - shown.length} more`, ['']]);
  } else services.push(['', NA]);
  const svcColumn = infoColumn('SERVICES', services, infoRows, 12);
  const addresses = value(s?.addresses);
  const network = infoColumn(
    'NETWORK',
    [
      ['HOSTNAME', field(s?.hostname, (h) => h || 'n/a')],
      ['NODE', [node]],
      ['ADDRESSES', addresses && addresses.length > 0 ? [addresses.join(', ')] : NA],
    ],
    infoRows,
    11,
  );
  const w = Math.floor(model.cols / 3);
  const widths = [w, w, model.cols - 2 * w];
  const lines: Seg[][] = [];
  for (let i = 0; i < infoRows; i++) lines.push(columns([talos[i] ?? [], svcColumn[i] ?? [], network[i] ?? []], widths));

  const logTitle = `── ${model.logSource} logs ${model.logScroll > 0 ? `(scrolled up ${model.logScroll}) ` : ''}`;
  lines.push(st?.logError ? [[logTitle, STYLE.bold], [`error: ${st.logError} (retrying) `, STYLE.red], ['─'.repeat(model.cols)]] : [[logTitle + '─'.repeat(model.cols), STYLE.bold]]);
  const logs = st?.logs ?? [];
  const end = logs.length - model.logScroll;
  const visible = logs.slice(Math.max(0, end - paneRows), Math.max(0, end));
  if (visible.length === 0) lines.push([['no log lines yet', STYLE.dim]]);
  for (const l of visible) lines.push([[l]]);
  return lines;
}

const EIGHTHS = [' ', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** A bar graph of percentages, newest on the right: `height` rows of `width` cells in eighth blocks. */
export function graph(values: readonly number[], width: number, height: number): string[] {
  const shown = values.slice(-width);
  const pad = width - shown.length;
  const rows: string[] = [];
  for (let r = 0; r < height; r++) {
    let line = ' '.repeat(pad);
    for (const v of shown) {
      const filled = (Math.min(100, Math.max(0, v)) / 100) * height - (height - 1 - r);
      line += EIGHTHS[Math.round(Math.min(1, Math.max(0, filled)) * 8)];
    }
    rows.push(line);
  }
  return rows;
}

function processRows(st: NodeState | undefined): { p: ProcessSample; cpu: number | undefined }[] {
  const procs = value(st?.sample?.processes) ?? [];
  return procs
    .map((p) => ({ p, cpu: st?.processCpu.get(p.pid) }))
    .sort((a, b) => (b.cpu ?? -1) - (a.cpu ?? -1) || b.p.residentBytes - a.p.residentBytes || a.p.pid - b.p.pid);
}

function monitorBody(model: DashboardModel, st: NodeState | undefined): Seg[][] {
  const s = st?.sample;
  const { graphRows, paneRows } = screenLayout(model);
  const mem = value(s?.memory);
  const cpus = value(s?.cpu)?.cpus;
  const lines: Seg[][] = [];
  lines.push([
    ['CPU ', STYLE.cyan],
    [st?.cpuPercent !== undefined ? `${percent(st.cpuPercent)} of ${cpus ?? '?'} CPUs` : 'n/a', st?.cpuPercent !== undefined ? undefined : STYLE.dim],
    ['  MEM ', STYLE.cyan],
    mem ? [`${percent(memPercent(s))} (${humanBytes(mem.totalBytes - mem.availableBytes)} of ${humanBytes(mem.totalBytes)})`] : NA,
    ['  LOAD ', STYLE.cyan],
    field(s?.loadAvg, (l) => l.map((x) => x.toFixed(2)).join(' ')),
    ['  PROCS ', STYLE.cyan],
    field(s?.processes, (p) => String(p.length)),
  ]);
  const half = Math.floor(model.cols / 2);
  const widths = [half, model.cols - half];
  const gw = Math.max(1, half - 1);
  lines.push(columns([[['CPU USAGE', STYLE.bold]], [['MEM USAGE', STYLE.bold]]], widths));
  const cpuGraph = st && st.cpuHistory.length > 0 ? graph(st.cpuHistory, gw, graphRows) : undefined;
  const memGraph = st && st.memHistory.length > 0 ? graph(st.memHistory, gw, graphRows) : undefined;
  const cpuError = s && 'error' in s.cpu ? s.cpu.error : undefined;
  const cpuLabel = cpuError !== undefined ? `n/a (SystemStat: ${cpuError})` : 'n/a (needs two samples)';
  for (let r = 0; r < graphRows; r++) {
    const cell = (g: string[] | undefined, label: string): Seg[] => (g ? [[g[r] ?? '', STYLE.green]] : r === 0 ? [[label, STYLE.dim]] : []);
    lines.push(columns([cell(cpuGraph, cpuLabel), cell(memGraph, 'n/a')], widths));
  }
  lines.push([['    PID STATE THREADS   CPU%       RSS COMMAND', STYLE.bold]]);
  if (!s || !('value' in s.processes)) {
    lines.push([s && 'error' in s.processes ? [`processes: ${s.processes.error}`, STYLE.dim] : NA]);
    return lines;
  }
  for (const { p, cpu } of processRows(st).slice(model.processScroll, model.processScroll + paneRows)) {
    lines.push([
      [
        `${String(p.pid).padStart(7)} ${p.state.padEnd(5)} ${String(p.threads).padStart(7)} ${(cpu === undefined ? '' : cpu.toFixed(1)).padStart(6)} ${humanBytes(p.residentBytes).padStart(9)} `,
      ],
      [p.command],
    ]);
  }
  return lines;
}

/** The screen for the model: exactly `model.rows` lines, each `model.cols` visible characters wide. */
export function render(model: DashboardModel): string[] {
  const cols = Math.max(1, model.cols);
  const rows = Math.max(1, model.rows);
  const node = selectedNode(model);
  const st = model.perNode.get(node);
  const body = model.screen === 'summary' ? summaryBody(model, node, st) : monitorBody(model, st);
  const lines = [header(model, node, st), statusLine(model, node, st), ...body].slice(0, rows - 1);
  while (lines.length < rows - 1) lines.push([]);
  lines.push(footer(model));
  return lines.slice(-rows).map((segs) => paint(segs, cols));
}
