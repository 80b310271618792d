import type { Logger } from '@talos-ts/cosi';

/** A server a daemon's main runs: it binds in `listen` and drains in `close`. */
export interface DaemonServer {
  listen(): Promise<string>;
  close(graceMs?: number): Promise<void>;
}

/** Aborts on SIGTERM or SIGINT (machined's supervisor stops services with SIGTERM). */
export function terminationSignal(): AbortSignal {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  return ac.signal;
}

/**
 * The lifecycle every API daemon (apid, trustd) shares: start, serve until `stop` aborts, then
 * drain. Returns the exit code: 1 when the server could not start, 0 after a clean stop.
 */
export async function serveUntilSignal(name: string, server: DaemonServer, logger: Logger, stop: AbortSignal = terminationSignal()): Promise<number> {
  try {
    await server.listen();
  } catch (err) {
    logger.error(`${name} failed to start`, { error: err });
    await server.close(0);
    return 1;
  }
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  logger.info('stopping');
  await server.close();
  return 0;
}
