import { readFile } from 'node:fs/promises';
import { createLogger } from '@talos-ts/cosi';
import { createDiscoveryServer } from './server/server.ts';

/** Parsed command line of `talos-discovery`. */
export interface DiscoveryArgs {
  readonly listen: string;
  readonly snapshotPath?: string;
  readonly snapshotIntervalMs: number;
  readonly gcIntervalMs: number;
  readonly metricsListen?: string;
  readonly tlsCert?: string;
  readonly tlsKey?: string;
}

const usage = `usage: talos-discovery --listen HOST:PORT [--snapshot-path FILE] [--snapshot-interval 10m]
                       [--gc-interval 1m] [--metrics-listen HOST:PORT] [--tls-cert FILE --tls-key FILE]`;

/** Parses `90s`, `10m`, `1h`, `500ms` into milliseconds. */
function durationMs(flag: string, v: string): { value: number } | { error: string } {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(v);
  if (!m || m[1] === undefined || m[2] === undefined) return { error: `${flag}: ${JSON.stringify(v)} is not a duration like 30s, 10m, 1h` };
  const n = Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  if (n <= 0) return { error: `${flag}: must be positive` };
  return { value: n };
}

/** Parses the command line; the error is one line for the user. */
export function parseArgs(argv: readonly string[]): { value: DiscoveryArgs } | { error: string } {
  const vals = new Map<string, string>();
  const known = ['--listen', '--snapshot-path', '--snapshot-interval', '--gc-interval', '--metrics-listen', '--tls-cert', '--tls-key'];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    if (!known.includes(flag)) return { error: `unknown argument ${JSON.stringify(a)}` };
    const v = inline ?? argv[++i];
    if (v === undefined) return { error: `${flag}: needs a value` };
    vals.set(flag, v);
  }
  const listen = vals.get('--listen');
  if (!listen) return { error: '--listen is required' };
  const snap = durationMs('--snapshot-interval', vals.get('--snapshot-interval') ?? '10m');
  if ('error' in snap) return snap;
  const gc = durationMs('--gc-interval', vals.get('--gc-interval') ?? '1m');
  if ('error' in gc) return gc;
  if (vals.has('--tls-cert') !== vals.has('--tls-key')) return { error: '--tls-cert and --tls-key go together' };
  const opt = (k: string, name: string) => (vals.has(k) ? { [name]: vals.get(k) } : {});
  return {
    value: {
      listen,
      snapshotIntervalMs: snap.value,
      gcIntervalMs: gc.value,
      ...opt('--snapshot-path', 'snapshotPath'),
      ...opt('--metrics-listen', 'metricsListen'),
      ...opt('--tls-cert', 'tlsCert'),
      ...opt('--tls-key', 'tlsKey'),
    },
  };
}

/** `talos-discovery` entry point: serves until SIGINT/SIGTERM, returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(usage);
    return 0;
  }
  const parsed = parseArgs(argv);
  if ('error' in parsed) {
    console.error(`talos-discovery: ${parsed.error}\n${usage}`);
    return 1;
  }
  const args = parsed.value;
  const logger = createLogger();
  try {
    const tls = args.tlsCert && args.tlsKey ? { certPem: await readFile(args.tlsCert), keyPem: await readFile(args.tlsKey) } : undefined;
    await using server = await createDiscoveryServer({
      logger,
      snapshotIntervalMs: args.snapshotIntervalMs,
      gcIntervalMs: args.gcIntervalMs,
      ...(args.snapshotPath ? { snapshotPath: args.snapshotPath } : {}),
      ...(tls ? { tls } : {}),
    });
    const bound = await server.listen(args.listen);
    console.log(JSON.stringify({ listening: bound.address }));
    if (args.metricsListen) {
      const m = await server.listenMetrics(args.metricsListen);
      console.log(JSON.stringify({ metrics: `http://${m.address}/metrics` }));
    }
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    return 0;
  } catch (err) {
    console.error(`talos-discovery: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}
