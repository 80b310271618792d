import { spawn, type ChildProcess } from 'node:child_process';
import { ownChildren } from './children.ts';
import { ServiceState } from '../system/events.ts';
import { LineSplitter } from '../system/log.ts';
import { defaultGracePeriodMs, type ProcessSpec, type RunContext, type RunOutcome, type Runner } from '../system/runner.ts';

interface Live {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

// Children run in their own process group so a stop reaches everything they forked, and a
// service cannot leave helpers behind when its main process goes away.
function signalGroup(child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, sig);
  } catch {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  }
}

/** Runs a service as a child process: output into the service log, SIGTERM then SIGKILL on stop. */
export class ProcessRunner implements Runner {
  readonly description: string;
  readonly #spec: ProcessSpec;
  readonly #live = new Set<Live>();

  constructor(spec: ProcessSpec) {
    if (spec.argv.length === 0 || !spec.argv[0]) throw new RangeError('process runner needs a non-empty argv');
    this.#spec = spec;
    this.description = `Process(${JSON.stringify(spec.argv)})`;
  }

  /** Pids of processes this runner currently has running. */
  get pids(): number[] {
    return [...this.#live].flatMap((l) => (l.child.pid === undefined ? [] : [l.child.pid]));
  }

  async run(signal: AbortSignal, ctx: RunContext): Promise<RunOutcome> {
    if (signal.aborted) return { ok: true, started: false, message: 'stopped before start' };
    const spec = this.#spec;
    const env = spec.inheritEnv === false ? { ...spec.env } : { ...process.env, ...spec.env };
    const [file, ...args] = spec.argv as [string, ...string[]];
    const child = spawn(file, args, {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
      ...(spec.uid !== undefined ? { uid: spec.uid } : {}),
      ...(spec.gid !== undefined ? { gid: spec.gid } : {}),
    });
    const pid = child.pid;
    if (pid !== undefined) {
      ownChildren.add(pid);
      child.once('exit', () => ownChildren.delete(pid));
    }
    const out = new LineSplitter((l) => ctx.log(l));
    const err = new LineSplitter((l) => ctx.log(l));
    child.stdout?.on('data', (c: Buffer) => out.write(c));
    child.stderr?.on('data', (c: Buffer) => err.write(c));

    const started = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (e) => resolve(e));
    });
    if (started) return { ok: false, started: false, message: `error starting process: ${started.message}` };

    const exit = new Promise<{ code: number | null; sig: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, sig) => resolve({ code, sig })),
    );
    const live: Live = { child, exited: exit.then(() => {}) };
    this.#live.add(live);
    ctx.started(`Process ${this.description} started with PID ${child.pid}`);

    let stopping = false;
    let killTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      stopping = true;
      ctx.event(ServiceState.Stopping, `Sending SIGTERM to ${this.description}`);
      signalGroup(child, 'SIGTERM');
      killTimer = setTimeout(() => {
        ctx.event(ServiceState.Stopping, `Sending SIGKILL to ${this.description}`);
        signalGroup(child, 'SIGKILL');
      }, spec.gracePeriodMs ?? defaultGracePeriodMs);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    // A stop requested while the process was spawning has already fired its abort event.
    if (signal.aborted) onAbort();
    try {
      const { code, sig } = await exit;
      // Whatever the leader left in its group goes with it.
      signalGroup(child, 'SIGKILL');
      await this.#drain(child);
      out.end();
      err.end();
      const base = { started: true, ...(code !== null ? { exitCode: code } : {}), ...(sig !== null ? { signal: sig } : {}) };
      if (stopping) return { ...base, ok: true, message: 'stopped' };
      if (code === 0) return { ...base, ok: true, message: 'exit code 0' };
      return { ...base, ok: false, message: code !== null ? `exit code ${code}` : `signal ${sig}` };
    } finally {
      clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
      this.#live.delete(live);
    }
  }

  // Output written just before exit may still sit in the pipes; give it a moment, then let go.
  async #drain(child: ChildProcess): Promise<void> {
    const streams = [child.stdout, child.stderr].filter((s) => s !== null && !s.readableEnded);
    if (streams.length === 0) return;
    await Promise.race([
      Promise.all(streams.map((s) => new Promise<void>((resolve) => s?.once('close', () => resolve())))),
      new Promise<void>((resolve) => setTimeout(resolve, 200).unref()),
    ]);
    for (const s of streams) s?.destroy();
  }

  /** Kills any process still running (SIGKILL to its group) and waits for it to exit. */
  async [Symbol.asyncDispose](): Promise<void> {
    const live = [...this.#live];
    for (const l of live) signalGroup(l.child, 'SIGKILL');
    await Promise.all(live.map((l) => l.exited));
  }
}

/** Creates a {@link ProcessRunner}. */
export function createProcessRunner(spec: ProcessSpec): ProcessRunner {
  return new ProcessRunner(spec);
}
