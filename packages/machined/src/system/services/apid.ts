import { join } from 'node:path';
import { CertFiles, TALOS_API_PORT, type NodePaths } from '@talos-ts/machinery';
import { createProcessRunner } from '../../linux/process.ts';
import { fileExists, type ServiceDefinition } from '../service.ts';
import { programPath } from './program.ts';
import { tcpReachable } from './tcp-reachable.ts';

/** What the apid service needs to know about its node. */
export interface ApidServiceOptions {
  readonly address: string;
  /** The host apid binds (default the node's address); '0.0.0.0' when the node owns its namespace. */
  readonly listenHost?: string;
  readonly paths: NodePaths;
  /** argv prefix starting apid; defaults to this checkout's (or bundle's) apid under the same Node. */
  readonly command?: readonly string[];
  readonly nodeFlags?: readonly string[];
  /** Start apid before its certificates exist; it waits for them itself (see NodeOptions.prestartApid). */
  readonly prestart?: boolean;
}

/** apid: the API gateway on :50000, in front of machined's socket. */
export function apidService(o: ApidServiceOptions): ServiceDefinition {
  return {
    id: 'apid',
    ...(o.prestart ? {} : { condition: fileExists(join(o.paths.apiCertsDir, CertFiles.serverCrt)) }),
    runner: () =>
      createProcessRunner({
        argv: [
          ...(o.command ?? [process.execPath, ...(o.nodeFlags ?? []), programPath('apid')]),
          '--listen', `${o.listenHost ?? o.address}:${TALOS_API_PORT}`,
          '--machined-socket', o.paths.machinedSocket,
          '--certs-dir', o.paths.apiCertsDir,
          '--node', o.address,
          ...(o.prestart ? ['--wait-for-certs'] : []),
        ],
        gracePeriodMs: 5000,
      }),
    healthCheck: { check: (signal) => tcpReachable(o.address, TALOS_API_PORT, signal), initialDelayMs: 200, periodMs: 2000, timeoutMs: 1000 },
  };
}
