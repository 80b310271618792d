import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';

/** A host program a test started (containerd, docker-registry), ready to serve. */
export interface Daemon {
  /** Stops it (SIGTERM, waiting for its exit) and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts `command args…`, whose files all live in `dir`, and polls `ready` (at most `tries` times,
 * 50 ms apart) until it answers; a program that exits or never answers is stopped, and the error
 * names it with the tail of its stderr.
 */
export async function startDaemon(o: { command: string; args: readonly string[]; dir: string; ready: () => Promise<boolean>; tries: number; what: string }): Promise<Daemon> {
  const proc = spawn(o.command, [...o.args], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(o.dir, { recursive: true, force: true });
  };
  for (let i = 0; i < o.tries; i++) {
    if (proc.exitCode !== null) break;
    if (await o.ready()) return { stop };
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`${o.command} did not ${o.what}: ${log}`);
}
