import { parseArgs } from 'node:util';
import { createLogger } from '@talos-ts/cosi';
import { serveUntilSignal } from '@talos-ts/machinery';
import type { LogLevel } from '@talos-ts/cosi';
import { createTrustd } from './trustd.ts';

const usage = 'usage: trustd --listen HOST:PORT --certs-dir DIR [--log-level info]';

/** Runs trustd until SIGTERM/SIGINT; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        listen: { type: 'string' },
        'certs-dir': { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`trustd: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const certsDir = values['certs-dir'];
  if (values.listen === undefined || certsDir === undefined) {
    console.error(`trustd: --listen and --certs-dir are required\n${usage}`);
    return 2;
  }
  const logger = createLogger({ level: values['log-level'] as LogLevel });
  const trustd = createTrustd({ listen: values.listen, certsDir, logger });
  return serveUntilSignal('trustd', trustd, logger);
}
