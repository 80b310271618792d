import { createH2Channel } from '@talos-ts/machinery';

/**
 * Asks a gRPC server on a unix socket (`unix:PATH`) for grpc.health.v1.Health/Check (overall
 * health, service "") and resolves when it answers SERVING. Messages are encoded by hand: the
 * request is empty and the reply is one enum field (status = 1, SERVING = 1).
 */
export async function grpcHealthCheck(target: string, signal: AbortSignal): Promise<void> {
  const channel = createH2Channel(target.replace(/^unix:\/\//, 'unix:'));
  try {
    const reply = await channel.unary('/grpc.health.v1.Health/Check', new Uint8Array(0), { signal });
    const status = reply.length >= 2 && reply[0] === 0x08 ? reply[1] : 0;
    if (status !== 1) throw new Error(`health status ${status ?? 0}, want SERVING`);
  } finally {
    channel.close();
  }
}
