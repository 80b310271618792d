import { parseArgs } from 'node:util';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { createLogger, type LogLevel } from '@talos-ts/cosi';
import { TalosNode } from './node.ts';

const usage = `Usage: machined --platform container --state-dir DIR --address IP [--log-level info]

Starts one Talos-TS node. apid listens on IP:50000 and trustd (control plane) on IP:50001.
With no configuration in DIR the node waits in maintenance mode for
  talosctl apply-config --insecure -n IP -f controlplane.yaml

Environment (test knobs):
  TALOSTS_DISCOVERY_TTL_MS  TTL of the affiliate data published to the discovery service
                            (default 30 minutes, as upstream)
`;

/** Runs machined until it powers off or is signalled; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: [...argv],
      options: {
        platform: { type: 'string', default: 'container' },
        'state-dir': { type: 'string' },
        address: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }).values;
  } catch (err) {
    process.stderr.write(`machined: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (args.help) {
    process.stdout.write(usage);
    return 0;
  }
  const problems: string[] = [];
  if (args.platform !== 'container') problems.push(`--platform ${args.platform}: only "container" runs as a process (metal boots from the image)`);
  if (!args['state-dir']) problems.push('--state-dir is required');
  if (!args.address || isIP(args.address) === 0) problems.push(`--address must be an IP address, got ${JSON.stringify(args.address ?? '')}`);
  if (!['debug', 'info', 'warn', 'error'].includes(args['log-level'] ?? '')) problems.push(`--log-level must be debug, info, warn or error`);
  if (problems.length > 0) {
    process.stderr.write(`machined: ${problems.join('\nmachined: ')}\n\n${usage}`);
    return 2;
  }

  // Test knob, not a flag: integration suites shorten the discovery TTL to watch a dead node expire.
  const ttlEnv = process.env['TALOSTS_DISCOVERY_TTL_MS'];
  const discoveryTtlMs = ttlEnv !== undefined && ttlEnv !== '' ? Number(ttlEnv) : undefined;
  if (discoveryTtlMs !== undefined && !(Number.isInteger(discoveryTtlMs) && discoveryTtlMs >= 1000)) problems.push('TALOSTS_DISCOVERY_TTL_MS must be an integer number of milliseconds, at least 1000');
  if (problems.length > 0) {
    process.stderr.write(`machined: ${problems.join('\nmachined: ')}\n\n${usage}`);
    return 2;
  }

  let powerOff: () => void = () => {};
  const poweredOff = new Promise<void>((r) => (powerOff = r));
  const node = new TalosNode({
    platform: 'container',
    stateDir: resolve(args['state-dir'] as string),
    address: args.address as string,
    logger: createLogger({ level: args['log-level'] as LogLevel }),
    onPowerOff: () => powerOff(),
    ...(discoveryTtlMs !== undefined ? { discoveryTtlMs } : {}),
  });
  const stop = (): void => {
    void node.stop().finally(() => powerOff());
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  try {
    await node.start();
  } catch (err) {
    process.stderr.write(`machined: boot failed: ${(err as Error).message}\n`);
    await node.stop().catch(() => {});
    return 1;
  }
  await poweredOff;
  await node[Symbol.asyncDispose]();
  return 0;
}
