import { createServer } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago (bound, read, released). */
export async function freeLoopbackPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return p;
}
