import { credentials, Client } from '@grpc/grpc-js';

/**
 * Asks a gRPC server for grpc.health.v1.Health/Check (overall health, service "") and resolves
 * when it answers SERVING. Messages are encoded by hand: the request is empty and the reply is
 * one enum field (status = 1, SERVING = 1).
 */
export function grpcHealthCheck(target: string, signal: AbortSignal): Promise<void> {
  const client = new Client(target, credentials.createInsecure());
  return new Promise<void>((resolve, reject) => {
    const call = client.makeUnaryRequest(
      '/grpc.health.v1.Health/Check',
      () => Buffer.alloc(0),
      (b: Buffer) => b,
      {},
      (err, reply) => {
        signal.removeEventListener('abort', onAbort);
        client.close();
        if (err) return reject(err);
        const status = reply && reply.length >= 2 && reply[0] === 0x08 ? reply[1] : 0;
        if (status === 1) resolve();
        else reject(new Error(`health status ${status ?? 0}, want SERVING`));
      },
    );
    const onAbort = (): void => call.cancel();
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
