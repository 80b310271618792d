// Starting the cluster's long-lived processes inside namespaces, and stopping them again.

import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Programs the provisioner starts: their bundle's file name (`npm run build`) and their bin under packages/. */
const programs = {
  machined: { bundle: 'machined.cjs', source: 'machined/bin/machined.js' },
  'talos-discovery': { bundle: 'talos-discovery.mjs', source: 'discovery/bin/talos-discovery.js' },
  'talos-forwarder': { bundle: 'talos-forwarder.mjs', source: 'provision/bin/talos-forwarder.js' },
  'talos-vm-launcher': { bundle: 'talos-vm-launcher.mjs', source: 'provision/bin/talos-vm-launcher.js' },
} as const;

/** A program the provisioner can start. */
export type ProgramName = keyof typeof programs;

/**
 * The script to run for a program: the bundle beside this module (talosctl itself bundled in
 * dist/), else the checkout's dist/ bundle (`npm run build`), else the TypeScript bin via tsx
 * (from the sources, or from a checkout's dist/ bundle built before that program existed).
 */
export function programPath(name: ProgramName): string {
  const { bundle, source } = programs[name];
  const candidates = [`./${bundle}`, `../../../../dist/${bundle}`, `../../../${source}`, `../packages/${source}`];
  for (const c of candidates) {
    const p = fileURLToPath(new URL(c, import.meta.url));
    if (existsSync(p)) return p;
  }
  return fileURLToPath(new URL(`../../../${source}`, import.meta.url));
}

/** Options of {@link spawnInNetns}. */
export interface SpawnInNetnsOptions {
  readonly netns: string;
  readonly program: ProgramName;
  readonly args: readonly string[];
  /** stdout and stderr are appended here. */
  readonly logFile: string;
  /** Open an IPC channel (the forwarder receives its listening sockets over it). */
  readonly ipc?: boolean;
}

/**
 * Starts `node PROGRAM ARGS` inside a namespace through `ip netns exec` (which execs, so the pid
 * is the program's). Detached into its own process group: it outlives talosctl and Ctrl-C.
 */
export function spawnInNetns(options: SpawnInNetnsOptions): ChildProcess {
  const fd = openSync(options.logFile, 'a', 0o600);
  try {
    const stdio: StdioOptions = options.ipc ? ['ignore', fd, fd, 'ipc'] : ['ignore', fd, fd];
    const child = spawn('ip', ['netns', 'exec', options.netns, process.execPath, programPath(options.program), ...options.args], {
      detached: true,
      stdio,
    });
    return child;
  } finally {
    closeSync(fd);
  }
}

/** Resolves once the child has a pid or failed to spawn. */
export async function spawned(child: ChildProcess): Promise<number> {
  return new Promise((resolve, reject) => {
    child.once('spawn', () => resolve(child.pid ?? 0));
    child.once('error', reject);
  });
}

/** True while a process with this pid exists (zombies count as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 3 (after the parenthesised command) is the state; Z is a zombie waiting to be reaped.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Pids of every process whose command line mentions the path. */
export function processesMentioning(path: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(path)) out.push(Number(entry));
    } catch {
      // it ended while we looked
    }
  }
  return out;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops processes: SIGTERM, then waits up to graceMs for them to exit (machined stops its own
 * services on SIGTERM), then SIGKILL whatever remains.
 */
export async function stopProcesses(pids: readonly number[], options: { graceMs?: number } = {}): Promise<void> {
  const live = pids.filter((p) => p > 0 && isAlive(p));
  for (const p of live) signal(p, 'SIGTERM');
  const deadline = Date.now() + (options.graceMs ?? 10_000);
  while (live.some(isAlive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  const left = live.filter(isAlive);
  for (const p of left) signal(p, 'SIGKILL');
  const killDeadline = Date.now() + 5_000;
  while (left.some(isAlive) && Date.now() < killDeadline) await new Promise((r) => setTimeout(r, 50));
}
