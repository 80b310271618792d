import { parseArgs } from 'node:util';
import { createLogger } from '@talos-ts/cosi';
import { serveUntilSignal } from '@talos-ts/machinery';
import type { LogLevel } from '@talos-ts/cosi';
import { createApid } from './apid.ts';

const usage = 'usage: apid --listen HOST:PORT --machined-socket PATH --certs-dir DIR --node ADDRESS [--log-level info]';

/** Runs apid until SIGTERM/SIGINT; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        listen: { type: 'string' },
        'machined-socket': { type: 'string' },
        'certs-dir': { type: 'string' },
        node: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
      },
      strict: true,
    }));
  } catch (err) {
    console.error(`apid: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const { listen, node } = values;
  const machinedSocket = values['machined-socket'];
  const certsDir = values['certs-dir'];
  if (listen === undefined || machinedSocket === undefined || certsDir === undefined || node === undefined) {
    console.error(`apid: --listen, --machined-socket, --certs-dir and --node are required\n${usage}`);
    return 2;
  }
  const logger = createLogger({ level: values['log-level'] as LogLevel });
  const apid = createApid({ listen, machinedSocket, certsDir, node, logger });
  return serveUntilSignal('apid', apid, logger);
}
