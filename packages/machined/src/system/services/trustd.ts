import { join } from 'node:path';
import { CertFiles, TRUSTD_PORT, type NodePaths } from '@talos-ts/machinery';
import { createProcessRunner } from '../../linux/process.ts';
import { fileExists, type ServiceDefinition } from '../service.ts';
import { programPath } from './program.ts';
import { tcpReachable } from './tcp-reachable.ts';

/** What the trustd service needs to know about its node. */
export interface TrustdServiceOptions {
  readonly address: string;
  readonly paths: NodePaths;
  /** trustd runs on control planes only; elsewhere the service is skipped. */
  readonly controlPlane: boolean;
  readonly command?: readonly string[];
  readonly nodeFlags?: readonly string[];
}

/** trustd: signs API certificates for nodes that present the machine token, on :50001. */
export function trustdService(o: TrustdServiceOptions): ServiceDefinition {
  return {
    id: 'trustd',
    condition: fileExists(join(o.paths.trustdCertsDir, CertFiles.serverCrt)),
    runner: () =>
      o.controlPlane
        ? createProcessRunner({
            argv: [
              ...(o.command ?? [process.execPath, ...(o.nodeFlags ?? []), programPath('trustd')]),
              '--listen', `${o.address}:${TRUSTD_PORT}`,
              '--certs-dir', o.paths.trustdCertsDir,
            ],
            gracePeriodMs: 5000,
          })
        : undefined,
    healthCheck: { check: (signal) => tcpReachable(o.address, TRUSTD_PORT, signal), initialDelayMs: 200, periodMs: 2000, timeoutMs: 1000 },
  };
}
