import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onPath } from './on-path.ts';

/** A running chronyd serving NTP; dispose it to stop it and remove its files. */
export interface ChronyServer extends AsyncDisposable {
  /** `address:port`, as timed and `talosctl time --check` take it. */
  readonly server: string;
  stop(): Promise<void>;
}

/** Whether Debian's chronyd is installed (scripts/ensure-deps.sh test). */
export function hasChronyd(): boolean {
  return onPath('chronyd');
}

/**
 * Starts real chronyd as an NTP server on address:port, serving the host's clock at stratum 3. It runs
 * with -x, so it never touches the host clock; resolves once it answers a query.
 */
export async function startChrony(options: { address: string; port: number }): Promise<ChronyServer> {
  const dir = mkdtempSync(join(tmpdir(), 'talos-chrony-'));
  const conf = join(dir, 'chrony.conf');
  writeFileSync(
    conf,
    [
      `port ${options.port}`,
      `bindaddress ${options.address}`,
      'allow 127.0.0.0/8',
      'local stratum 3',
      'cmdport 0',
      `pidfile ${join(dir, 'chronyd.pid')}`,
    ].join('\n') + '\n',
  );
  const proc = spawn('chronyd', ['-x', '-d', '-f', conf, '-u', 'root'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  proc.stderr!.on('data', (d: Buffer) => (log += d.toString()));
  const stop = async (): Promise<void> => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 50; i++) {
    if (proc.exitCode !== null) break;
    if (await answers(options.address, options.port)) {
      return { server: `${options.address}:${options.port}`, stop, [Symbol.asyncDispose]: stop };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await stop();
  throw new Error(`chronyd did not answer on ${options.address}:${options.port}: ${log}`);
}

function answers(address: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.close();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), 200);
    s.on('error', () => done(false));
    s.on('message', () => done(true));
    s.send(Buffer.from([0x23, ...Buffer.alloc(47)]), port, address);
  });
}
