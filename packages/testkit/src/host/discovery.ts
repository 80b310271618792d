// Starts the real discovery service program (packages/discovery's bin) for suites that may not
// import that package (machined's): by path, as the testkit starts machined.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const discoveryBin = new URL('../../../discovery/bin/talos-discovery.js', import.meta.url).pathname;

/** A running `talos-discovery` process. */
export interface DiscoveryProcess extends AsyncDisposable {
  /** `host:port` it listens on. */
  readonly address: string;
  stop(): Promise<void>;
}

/** Starts `talos-discovery --listen HOST:0` plus extra flags; resolves once it reports its port. */
export async function startDiscoveryService(host = '127.0.0.1', extraArgs: readonly string[] = []): Promise<DiscoveryProcess> {
  const child = spawn(process.execPath, [discoveryBin, '--listen', `${host}:0`, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stderr: string[] = [];
  child.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
  const address = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      try {
        const v = JSON.parse(line) as { listening?: string };
        if (v.listening) resolve(v.listening);
      } catch {
        // log lines
      }
    });
    child.once('exit', (code) => reject(new Error(`talos-discovery exited with ${code}: ${stderr.join('')}`)));
  });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000).unref())]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    await exited;
  };
  return { address, stop, [Symbol.asyncDispose]: stop };
}
