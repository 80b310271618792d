import type { Logger } from '@talos-ts/cosi';

/** A server a daemon's main runs: it binds in `listen` and drains in `close`. */
export interface DaemonServer {
  listen(): Promise<string>;
  close(graceMs?: number): Promise<void>;
}

/**
 * The lifecycle every API daemon (apid, trustd) shares: start, serve until SIGTERM or SIGINT
 * (machined's supervisor stops services with SIGTERM), then drain. Returns the exit code:
 * 1 when the server could not start, 0 after a clean stop.
 */
export async function serveUntilSignal(name: string, server: DaemonServer, logger: Logger): Promise<number> {
  try {
    await server.listen();
  } catch (err) {
    logger.error(`${name} failed to start`, { error: err });
    await server.close(0);
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  logger.info('stopping');
  await server.close();
  return 0;
}
