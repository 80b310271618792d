import { createProcessRunner } from '../../linux/process.ts';
import { grpcHealthCheck } from '../grpc-health.ts';
import type { ServiceDefinition } from '../service.ts';

/** containerd as a system service: its program and the socket its health is checked on. */
export interface ContainerdServiceOptions {
  readonly argv: readonly string[];
  readonly socket: string;
}

/** containerd: healthy once its gRPC health service answers on its socket. */
export function containerdService(o: ContainerdServiceOptions): ServiceDefinition {
  return {
    id: 'containerd',
    runner: () => createProcessRunner({ argv: [...o.argv], gracePeriodMs: 10_000 }),
    healthCheck: { check: (signal) => grpcHealthCheck(`unix://${o.socket}`, signal), initialDelayMs: 500, periodMs: 5000, timeoutMs: 3000 },
  };
}
