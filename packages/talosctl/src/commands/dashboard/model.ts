// The dashboard's state: what each node last reported, the history the graphs draw, the log lines,
// and what the user is looking at. Everything here is plain data changed by small functions, so the
// screen (render.ts) is a pure function of it and the I/O shell (terminal.ts) only feeds it events.

/** A screen of the dashboard and the function key that selects it (upstream's F1/F2 order). */
export type Screen = 'summary' | 'monitor';

/** The screens in footer order. Upstream's F3 (resource explorer) is not built yet. */
export const SCREENS: readonly { readonly key: string; readonly screen: Screen; readonly title: string }[] = [
  { key: 'F1', screen: 'summary', title: 'Summary' },
  { key: 'F2', screen: 'monitor', title: 'Monitor' },
];

/** A figure a node gave, or why it could not (an RPC missing or refused): shown as a "n/a" cell. */
export type Field<T> = { readonly value: T } | { readonly error: string };

/** The node's aggregate CPU time counters (SystemStat's cpu_total), in seconds. */
export interface CpuTimes {
  readonly totalSeconds: number;
  readonly idleSeconds: number;
  readonly cpus: number;
}

/** One process as the Processes RPC lists it. */
export interface ProcessSample {
  readonly pid: number;
  readonly state: string;
  readonly threads: number;
  readonly cpuTimeSeconds: number;
  readonly residentBytes: number;
  readonly command: string;
}

/** One service as ServiceList gives it. */
export interface ServiceSample {
  readonly id: string;
  readonly state: string;
  readonly health: 'ok' | 'fail' | '?';
}

/** What one poll of a node brought back. */
export interface NodeSample {
  readonly hostname: Field<string>;
  readonly version: Field<{ readonly tag: string; readonly arch: string; readonly platform: string }>;
  readonly machineType: Field<string>;
  readonly memory: Field<{ readonly totalBytes: number; readonly availableBytes: number }>;
  readonly processes: Field<readonly ProcessSample[]>;
  readonly services: Field<readonly ServiceSample[]>;
  readonly cpu: Field<CpuTimes>;
  /** Logical CPUs and the first one's clock (CPUInfo); mhz is 0 where the kernel does not say. */
  readonly cpuInfo: Field<{ readonly count: number; readonly mhz: number }>;
  readonly uptimeSeconds: Field<number>;
  readonly loadAvg: Field<readonly [number, number, number]>;
  readonly addresses: Field<readonly string[]>;
}

/** Per-node state: the last sample, derived rates, graph history and logs. */
export interface NodeState {
  sample?: NodeSample;
  sampleAtMs?: number;
  /** Set when the last poll failed as a whole (node unreachable); cleared by the next good one. */
  error?: { readonly message: string; readonly sinceMs: number } | undefined;
  /** CPU busy percent over the last interval; undefined until two samples are in. */
  cpuPercent?: number | undefined;
  cpuHistory: number[];
  memHistory: number[];
  /** Per-process CPU percent (of one core) over the last interval. */
  processCpu: Map<number, number>;
  logs: string[];
  /** The unterminated tail of the last log chunk. */
  logPartial: string;
  logError?: string | undefined;
}

/** The whole dashboard. */
export interface DashboardModel {
  readonly nodes: readonly string[];
  selected: number;
  screen: Screen;
  paused: boolean;
  cols: number;
  rows: number;
  nowMs: number;
  /** Bumped per tick; drives the header's spinner. */
  ticks: number;
  /** Lines scrolled up from the newest log line (0: follow the tail). */
  logScroll: number;
  /** First process row shown on the monitor screen. */
  processScroll: number;
  readonly perNode: Map<string, NodeState>;
  /** What the logs pane shows (`<service id>` of the Logs RPC). */
  readonly logSource: string;
  /** Time between polls (shown on the status line). */
  readonly intervalMs: number;
}

/** How many samples the graphs keep (wider terminals show more of them). */
export const HISTORY_SAMPLES = 500;
/** How many log lines are kept per node. */
export const LOG_LINES = 2000;

/** A fresh model for `nodes` on a `cols`×`rows` terminal. */
export function createModel(nodes: readonly string[], options: { cols: number; rows: number; nowMs: number; logSource?: string; intervalMs?: number }): DashboardModel {
  const perNode = new Map<string, NodeState>();
  for (const n of nodes) perNode.set(n, { cpuHistory: [], memHistory: [], processCpu: new Map(), logs: [], logPartial: '' });
  return {
    nodes: [...nodes],
    selected: 0,
    screen: 'summary',
    paused: false,
    cols: options.cols,
    rows: options.rows,
    nowMs: options.nowMs,
    ticks: 0,
    logScroll: 0,
    processScroll: 0,
    perNode,
    logSource: options.logSource ?? 'machined',
    intervalMs: options.intervalMs ?? 3000,
  };
}

/** The node on screen. */
export function selectedNode(model: DashboardModel): string {
  return model.nodes[model.selected] ?? '';
}

function nodeState(model: DashboardModel, node: string): NodeState | undefined {
  return model.perNode.get(node);
}

function pushBounded(list: number[], value: number): void {
  list.push(value);
  if (list.length > HISTORY_SAMPLES) list.splice(0, list.length - HISTORY_SAMPLES);
}

/** Records a good poll: rates are computed against the previous sample of the same node. */
export function applySample(model: DashboardModel, node: string, sample: NodeSample, atMs: number): void {
  const st = nodeState(model, node);
  if (!st || model.paused) return;
  const prev = st.sample;
  const prevAt = st.sampleAtMs;
  if ('value' in sample.cpu && prev && 'value' in prev.cpu) {
    const dTotal = sample.cpu.value.totalSeconds - prev.cpu.value.totalSeconds;
    const dIdle = sample.cpu.value.idleSeconds - prev.cpu.value.idleSeconds;
    if (dTotal > 0) {
      st.cpuPercent = Math.min(100, Math.max(0, ((dTotal - dIdle) / dTotal) * 100));
      pushBounded(st.cpuHistory, st.cpuPercent);
    }
  } else if (!('value' in sample.cpu)) {
    st.cpuPercent = undefined;
  }
  if ('value' in sample.memory && sample.memory.value.totalBytes > 0) {
    const m = sample.memory.value;
    pushBounded(st.memHistory, ((m.totalBytes - m.availableBytes) / m.totalBytes) * 100);
  }
  st.processCpu = new Map();
  if ('value' in sample.processes && prev && 'value' in prev.processes && prevAt !== undefined && atMs > prevAt) {
    const before = new Map(prev.processes.value.map((p) => [p.pid, p.cpuTimeSeconds]));
    const seconds = (atMs - prevAt) / 1000;
    for (const p of sample.processes.value) {
      const was = before.get(p.pid);
      if (was !== undefined) st.processCpu.set(p.pid, Math.max(0, ((p.cpuTimeSeconds - was) / seconds) * 100));
    }
  }
  st.sample = sample;
  st.sampleAtMs = atMs;
  st.error = undefined;
}

/** Records a failed poll: the node is shown in error, its last figures kept (dimmed) beside it. */
export function applyNodeError(model: DashboardModel, node: string, message: string, atMs: number): void {
  const st = nodeState(model, node);
  if (!st || model.paused) return;
  st.error = { message, sinceMs: st.error?.sinceMs ?? atMs };
}

/**
 * Strips what would move the cursor or change colours on our screen: escape sequences and control
 * characters in a log line are shown as nothing (tabs as spaces).
 */
export function sanitizeLine(text: string): string {
  /* eslint-disable no-control-regex -- control characters are exactly what is matched here */
  return text
    .replace(/\x1b\[[0-?]*[ -/]*[@-~]/g, '')
    .replace(/\x1b[@-_][^\x1b]*?(?:\x07|\x1b\\)/g, '')
    .replace(/\t/g, '    ')
    .replace(/[\x00-\x1f\x7f-\x9f]/g, '');
  /* eslint-enable no-control-regex */
}

const SHOWN_ELSEWHERE = new Set(['time', 'level', 'msg', 'node']);

/**
 * A machined log line as a reader scans it: our daemons log JSON records, shown here as
 * `time level message key=value…` (the node is on screen already). Other lines pass unchanged.
 */
export function formatLogLine(line: string): string {
  if (!line.startsWith('{')) return line;
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return line;
  }
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return line;
  const r = record as Record<string, unknown>;
  if (typeof r['msg'] !== 'string') return line;
  const time = typeof r['time'] === 'string' ? r['time'].replace(/^.*T/, '') : '';
  const level = typeof r['level'] === 'string' ? r['level'] : '';
  const fields = Object.entries(r)
    .filter(([k]) => !SHOWN_ELSEWHERE.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [time, level, r['msg'], ...fields].filter((x) => x !== '').join(' ');
}

/** Appends a chunk of a node's log stream (chunks may split lines anywhere). */
export function appendLog(model: DashboardModel, node: string, chunk: string): void {
  const st = nodeState(model, node);
  if (!st || model.paused) return;
  const parts = (st.logPartial + chunk).split('\n');
  st.logPartial = parts.pop() ?? '';
  const lines = parts.map((l) => sanitizeLine(formatLogLine(l.replace(/\r$/, ''))));
  if (lines.length === 0) return;
  st.logs.push(...lines);
  if (st.logs.length > LOG_LINES) st.logs.splice(0, st.logs.length - LOG_LINES);
  st.logError = undefined;
  // A reader scrolled up keeps looking at the same lines while new ones arrive below.
  if (node === selectedNode(model) && model.logScroll > 0) model.logScroll = Math.min(model.logScroll + lines.length, Math.max(0, st.logs.length - 1));
}

/** Records why a node's log stream ended (it is retried by the shell). */
export function applyLogError(model: DashboardModel, node: string, message: string): void {
  const st = nodeState(model, node);
  if (st) st.logError = message;
}

/** What a key press does. */
export type Key =
  | 'left'
  | 'right'
  | 'up'
  | 'down'
  | 'halfPageDown'
  | 'halfPageUp'
  | 'pageDown'
  | 'pageUp'
  | 'f1'
  | 'f2'
  | 'f3'
  | 'pause'
  | 'quit';

/** Rows of the fixed parts of the summary screen: header, status, the info panel, the log title, footer. */
export const SUMMARY_INFO_ROWS = 8;

/** Where each part of the current screen goes, by rows; render.ts draws to it and scrolling pages by it. */
export function screenLayout(model: DashboardModel): { readonly infoRows: number; readonly graphRows: number; readonly paneRows: number } {
  if (model.screen === 'summary') return { infoRows: SUMMARY_INFO_ROWS, graphRows: 0, paneRows: Math.max(1, model.rows - SUMMARY_INFO_ROWS - 4) };
  // Monitor: header, status, figures, graph titles, table header and footer, then graphs and table.
  const graphRows = Math.min(10, Math.max(2, Math.floor((model.rows - 6) / 3)));
  return { infoRows: 0, graphRows, paneRows: Math.max(1, model.rows - 6 - graphRows) };
}

/** Rows the scrolling pane of the current screen has. */
export function scrollPaneRows(model: DashboardModel): number {
  return screenLayout(model).paneRows;
}

function scrollLimit(model: DashboardModel): number {
  const st = nodeState(model, selectedNode(model));
  if (model.screen === 'summary') return Math.max(0, (st?.logs.length ?? 0) - scrollPaneRows(model));
  const procs = st?.sample && 'value' in st.sample.processes ? st.sample.processes.value.length : 0;
  return Math.max(0, procs - scrollPaneRows(model));
}

function scroll(model: DashboardModel, lines: number): void {
  const limit = scrollLimit(model);
  // Logs scroll up from the tail (positive = older); processes scroll down from the top.
  if (model.screen === 'summary') model.logScroll = Math.min(limit, Math.max(0, model.logScroll - lines));
  else model.processScroll = Math.min(limit, Math.max(0, model.processScroll + lines));
}

/**
 * Applies a key as upstream's dashboard does: h/l or ←/→ switch node (clamped at the ends, no
 * wrap), j/k or ↓/↑ scroll, Ctrl-D/U half a page, Ctrl-F/B a page, F1/F2 switch screen, Ctrl-Z
 * pauses, q or Ctrl-C quits. Returns `quit` when the dashboard should end.
 */
export function applyKey(model: DashboardModel, key: Key): 'quit' | 'continue' {
  const page = scrollPaneRows(model);
  switch (key) {
    case 'quit':
      return 'quit';
    case 'left':
    case 'right': {
      const next = Math.min(model.nodes.length - 1, Math.max(0, model.selected + (key === 'left' ? -1 : 1)));
      if (next !== model.selected) {
        model.selected = next;
        model.logScroll = 0;
        model.processScroll = 0;
      }
      break;
    }
    case 'down':
      scroll(model, 1);
      break;
    case 'up':
      scroll(model, -1);
      break;
    case 'halfPageDown':
      scroll(model, Math.floor(page / 2));
      break;
    case 'halfPageUp':
      scroll(model, -Math.floor(page / 2));
      break;
    case 'pageDown':
      scroll(model, page);
      break;
    case 'pageUp':
      scroll(model, -page);
      break;
    case 'f1':
    case 'f2':
    case 'f3': {
      const screen = SCREENS[Number(key.slice(1)) - 1];
      if (screen) model.screen = screen.screen;
      break;
    }
    case 'pause':
      model.paused = !model.paused;
      break;
  }
  return 'continue';
}
