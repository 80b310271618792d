import { parseArgs } from 'node:util';
import { createLogger } from '@talos-ts/cosi';
import { serveUntilSignal, terminationSignal } from '@talos-ts/machinery';
import type { LogLevel } from '@talos-ts/cosi';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApidCertFiles, createApid } from './apid.ts';

const usage = 'usage: apid --listen HOST:PORT --machined-socket PATH --certs-dir DIR --node ADDRESS [--wait-for-certs] [--log-level info]';

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
        // Started before its certificates exist (machined on metal does, so that this process's
        // start-up overlaps their issuance): wait for them instead of failing.
        'wait-for-certs': { type: 'boolean', default: false },
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
  const stopping = terminationSignal();
  if (values['wait-for-certs'] && !(await waitForCerts(certsDir, stopping))) return 0;
  const apid = createApid({ listen, machinedSocket, certsDir, node, logger });
  return serveUntilSignal('apid', apid, logger, stopping);
}

/** Polls until the server certificate, its key and the CA are in `dir`; false when stopped first. */
async function waitForCerts(dir: string, signal: AbortSignal): Promise<boolean> {
  const files = [ApidCertFiles.ca, ApidCertFiles.serverKey, ApidCertFiles.serverCrt].map((f) => join(dir, f));
  while (!files.every((f) => existsSync(f))) {
    if (signal.aborted) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
  return true;
}
