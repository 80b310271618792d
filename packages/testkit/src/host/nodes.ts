// Starts real machined processes (which start real apid and trustd) for integration suites, and
// checks that nothing they started outlives them.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TALOS_API_PORT } from '@talos-ts/machinery';

// Programs are started by path: the testkit never imports daemon packages.
const machinedBin = new URL('../../../machined/bin/machined.js', import.meta.url).pathname;
const machinedBundle = new URL('../../../../dist/machined.cjs', import.meta.url).pathname;

/** Options of {@link startNode}. */
export interface StartNodeOptions {
  /** Run the esbuild bundle (dist/, made by scripts/build.mjs) as shipped, instead of the sources. */
  readonly bundled?: boolean;
  /** Extra environment for machined (added to this process's), e.g. TALOSTS_DISCOVERY_TTL_MS. */
  readonly env?: Readonly<Record<string, string>>;
  /** Extra machined flags, e.g. `['--containerd', '/usr/bin/containerd']`. */
  readonly args?: readonly string[];
}

/** A machined process started by a test. */
export interface NodeProcess {
  readonly address: string;
  readonly dir: string;
  readonly child: ChildProcess;
  /** SIGTERM, wait for exit (bounded), then SIGKILL whatever is left under the state dir. */
  stop(): Promise<void>;
}

/** Pids of every process whose command line mentions the path (machined, apid, trustd, etcd…). */
export function processesUsing(path: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmd = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (cmd.includes(path)) out.push(Number(entry));
    } catch {
      // the process ended while we looked
    }
  }
  return out;
}

/** Resolves once something accepts TCP connections on host:port; rejects after timeoutMs. */
export async function waitForPort(host: string, port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How long past its deadline {@link waitFor} still waits for a check in flight. */
const LATE_CHECK_GRACE_MS = 5_000;

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /**
   * One check that has not answered within this long counts as false (its signal is aborted) and
   * polling goes on with a fresh check. Without it a check may run until the overall deadline.
   */
  readonly checkTimeoutMs?: number;
}

/**
 * Polls until check() is true; fails after timeoutMs naming what it waited for. A check that hangs
 * cannot hold the wait much past its deadline: each one is raced against the time left plus a few
 * seconds (and against `checkTimeoutMs`), and its signal is aborted when it loses.
 */
export async function waitFor(
  what: string,
  check: (signal: AbortSignal) => boolean | Promise<boolean>,
  timeoutMs = 30_000,
  options: WaitForOptions = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let hung = '';
  for (;;) {
    // A check started just before the deadline still gets a short grace to answer, as before.
    const left = Math.max(0, deadline - Date.now()) + LATE_CHECK_GRACE_MS;
    const bound = options.checkTimeoutMs === undefined ? left : Math.min(left, options.checkTimeoutMs);
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // Cleared as soon as the check settles, so only a hung check keeps it (bounded) alive.
    const late = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), Math.max(1, bound))));
    let ok = false;
    try {
      const got = await Promise.race([Promise.resolve().then(() => check(ac.signal)), late]);
      if (got === 'late') {
        ac.abort(new Error(`check did not answer within ${bound} ms`));
        hung = ` (a check did not answer within ${bound} ms)`;
      } else ok = got;
    } catch {
      ok = false;
    } finally {
      clearTimeout(timer);
    }
    if (ok) return;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${hung}`);
    await new Promise((r) => setTimeout(r, Math.min(200, Math.max(0, deadline - Date.now()))));
  }
}

/** Starts `machined --platform container` on the address with a fresh state dir. */
export async function startNode(address: string, dir: string, options: StartNodeOptions = {}): Promise<NodeProcess> {
  // The log sits beside the state dir, so a wiped state (reset) keeps it for the post-mortem.
  const log = createWriteStream(`${dir}.log`, { flags: 'a' });
  const child = spawn(process.execPath, [options.bundled ? machinedBundle : machinedBin, '--platform', 'container', '--state-dir', dir, '--address', address, ...(options.args ?? [])], {
    stdio: ['ignore', 'pipe', 'pipe'],
    ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
  });
  child.stdout?.pipe(log, { end: false });
  child.stderr?.pipe(log, { end: false });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      // unref: the bound must not keep the test process alive once machined has exited.
      await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000).unref())]);
    }
    for (const pid of processesUsing(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    log.end();
  };
  await waitForPort(address, TALOS_API_PORT);
  return { address, dir, child, stop };
}

/** A temporary directory removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
