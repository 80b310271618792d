import { parseArgs } from 'node:util';
import { createLogger } from '@talos-ts/cosi';
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
  try {
    await trustd.listen();
  } catch (err) {
    logger.error('trustd failed to start', { error: err });
    await trustd.close(0);
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('stopping');
  await trustd.close();
  return 0;
}
