// The dashboard's I/O shell: the terminal in raw mode on the alternate screen, keys in, frames out,
// a poll per node per interval and a log stream per node. Every wait is bounded or abortable, and
// the terminal is given back (main screen, cursor, cooked mode) however the run ends.

import type { ReadStream, WriteStream } from 'node:tty';
import { parseKeys } from './keys.ts';
import { applyKey, applyLogError, applyNodeError, applySample, appendLog, createModel, type DashboardModel, type NodeSample } from './model.ts';
import { render } from './render.ts';
import { reason } from './source.ts';

const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
const LEAVE = '\x1b[0m\x1b[?25h\x1b[?1049l';
/** Frames are coalesced: bursts of log lines or keys draw once per this many ms. */
const DRAW_COALESCE_MS = 30;
/** How often the clock-driven parts ("updated 2s ago", the spinner) move. */
const TICK_MS = 1000;
/** How long in-flight calls get to wind down after quitting before the terminal is restored anyway. */
const WIND_DOWN_MS = 2000;

/** What the shell needs from the data side; commands pass the API, tests may pass their own. */
export interface DashboardSource {
  /** One poll of `node`; throws when the node cannot be reached. */
  poll(node: string, signal: AbortSignal): Promise<NodeSample>;
  /** Follows `node`'s log; resolves or throws when the stream ends. */
  followLogs(node: string, options: { readonly tailLines: number; readonly signal: AbortSignal; readonly onChunk: (text: string) => void }): Promise<void>;
}

/** Options of {@link runDashboard}. */
export interface RunDashboardOptions {
  readonly nodes: readonly string[];
  readonly source: DashboardSource;
  readonly input: ReadStream;
  readonly output: WriteStream;
  readonly intervalMs: number;
  /** Ends the dashboard (Ctrl-C outside raw mode, the caller's own cancel). */
  readonly signal: AbortSignal;
  /** The log shown on the summary screen. */
  readonly logSource?: string;
  /** Lines of history asked for when a log stream first opens. */
  readonly logTailLines?: number;
  /** Wait before reopening a log stream that ended or failed. */
  readonly logRetryMs?: number;
  /** A poll not answered in this time counts as failed (a node that vanished without a reset). */
  readonly pollTimeoutMs?: number;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

/** Runs the dashboard until q / Ctrl-C, a terminating signal, or `options.signal`. */
export async function runDashboard(options: RunDashboardOptions): Promise<void> {
  const { input, output, source } = options;
  const stop = new AbortController();
  const onAbort = (): void => stop.abort();
  options.signal.addEventListener('abort', onAbort, { once: true });
  const model: DashboardModel = createModel(options.nodes, {
    cols: output.columns || 80,
    rows: output.rows || 24,
    nowMs: Date.now(),
    intervalMs: options.intervalMs,
    ...(options.logSource ? { logSource: options.logSource } : {}),
  });

  let drawTimer: NodeJS.Timeout | undefined;
  const draw = (): void => {
    drawTimer = undefined;
    if (stop.signal.aborted) return;
    model.nowMs = Date.now();
    output.write(`\x1b[H${render(model).join('\r\n')}`);
  };
  const scheduleDraw = (): void => {
    drawTimer ??= setTimeout(draw, DRAW_COALESCE_MS);
  };

  const onData = (chunk: Buffer | string): void => {
    for (const key of parseKeys(chunk.toString())) {
      if (applyKey(model, key) === 'quit') {
        stop.abort();
        return;
      }
    }
    scheduleDraw();
  };
  const onResize = (): void => {
    model.cols = output.columns || model.cols;
    model.rows = output.rows || model.rows;
    output.write('\x1b[2J');
    draw();
  };
  // Killed from outside (tmux closing, kill): leave the terminal as we found it on the way out.
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGHUP'];
  let restored = false;
  const restore = (): void => {
    if (restored) return;
    restored = true;
    if (input.isTTY) input.setRawMode(false);
    output.write(LEAVE);
  };

  const inFlight = new Map<string, Promise<void>>();
  const pollAll = (): void => {
    for (const node of model.nodes) {
      if (inFlight.has(node) || stop.signal.aborted) continue;
      const signal = AbortSignal.any([stop.signal, AbortSignal.timeout(options.pollTimeoutMs ?? Math.max(10_000, 2 * options.intervalMs))]);
      const p = source
        .poll(node, signal)
        .then(
          (sample) => applySample(model, node, sample, Date.now()),
          (err: unknown) => {
            if (stop.signal.aborted) return;
            applyNodeError(model, node, signal.aborted ? `no answer in ${options.pollTimeoutMs ?? Math.max(10_000, 2 * options.intervalMs)} ms` : reason(err), Date.now());
          },
        )
        .finally(() => {
          inFlight.delete(node);
          scheduleDraw();
        });
      inFlight.set(node, p);
    }
  };

  const followLoop = async (node: string): Promise<void> => {
    let tailLines = options.logTailLines ?? 200;
    while (!stop.signal.aborted) {
      try {
        await source.followLogs(node, {
          tailLines,
          signal: stop.signal,
          onChunk: (text) => {
            appendLog(model, node, text);
            scheduleDraw();
          },
        });
        if (!stop.signal.aborted) applyLogError(model, node, 'log stream ended');
      } catch (err) {
        if (stop.signal.aborted) break;
        applyLogError(model, node, reason(err));
      }
      scheduleDraw();
      // Reopened streams start at the tail: the history is on screen already.
      tailLines = 0;
      await sleep(options.logRetryMs ?? 5000, stop.signal);
    }
  };

  const exitGuard = (): void => restore();
  process.once('exit', exitGuard);
  for (const s of signals) process.on(s, onAbort);
  let pollTimer: NodeJS.Timeout | undefined;
  let tickTimer: NodeJS.Timeout | undefined;
  const logLoops: Promise<void>[] = [];
  try {
    output.write(ENTER);
    if (input.isTTY) input.setRawMode(true);
    input.on('data', onData);
    input.resume();
    output.on('resize', onResize);
    draw();
    pollAll();
    pollTimer = setInterval(pollAll, options.intervalMs);
    tickTimer = setInterval(() => {
      model.ticks++;
      scheduleDraw();
    }, TICK_MS);
    for (const node of model.nodes) logLoops.push(followLoop(node));
    await new Promise<void>((resolve) => {
      if (stop.signal.aborted) resolve();
      else stop.signal.addEventListener('abort', () => resolve(), { once: true });
    });
  } finally {
    stop.abort();
    clearInterval(pollTimer);
    clearInterval(tickTimer);
    clearTimeout(drawTimer);
    input.off('data', onData);
    input.pause();
    output.off('resize', onResize);
    for (const s of signals) process.off(s, onAbort);
    options.signal.removeEventListener('abort', onAbort);
    // Calls see the abort at once; the bound only matters for a peer that never answers.
    const settled = Promise.allSettled([...inFlight.values(), ...logLoops]);
    let windDown: NodeJS.Timeout | undefined;
    await Promise.race([settled, new Promise((r) => (windDown = setTimeout(r, WIND_DOWN_MS)))]);
    clearTimeout(windDown);
    restore();
    process.off('exit', exitGuard);
  }
}
