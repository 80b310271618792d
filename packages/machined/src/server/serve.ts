import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { DescService } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import { createH2Server, registerService, type H2ServerTls, type ServiceImplementation } from '@talos-ts/machinery';

/** One service to serve: its descriptor and a full implementation. */
export interface Served<S extends DescService = DescService> {
  readonly service: S;
  readonly implementation: ServiceImplementation<S>;
}

/** A running gRPC server; disposing it stops it (in-flight calls get a short grace period). */
export interface RunningServer extends AsyncDisposable {
  readonly address: string;
  close(): Promise<void>;
}

/** Options of {@link serve}. */
export interface ServeOptions {
  /** `unix:/path` or `host:port`. */
  readonly address: string;
  /** TLS 1.3 with this material; plaintext (the unix socket apid dials) when absent. */
  readonly tls?: H2ServerTls;
  readonly services: readonly Served[];
}

/** Upstream's message size limit on the machine API. */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Starts a gRPC server for the given services. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  // The unix socket's one client is apid, which multiplexes every user's calls (watches
  // included) over one connection: no idle cut and room for many streams. apid bounds what
  // users can open. The TCP listener (maintenance mode) keeps the server's defaults.
  const local = options.address.startsWith('unix:') ? { maxConcurrentStreams: 10_000, idleTimeoutMs: 0 } : {};
  const server = createH2Server({ ...local, maxMessageBytes: MAX_MESSAGE_BYTES, ...(options.tls ? { tls: options.tls } : {}) });
  for (const s of options.services) registerService(server, s.service, s.implementation as never);
  if (options.address.startsWith('unix:')) {
    const path = options.address.slice('unix:'.length);
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    await rm(path, { force: true });
  }
  const address = await server.listen(options.address).catch((err: unknown) => {
    throw new TalosError(Code.Unavailable, `cannot listen on ${options.address}: ${(err as Error).message}`, { cause: err });
  });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => (closed ??= server.close(2000));
  return { address, close, [Symbol.asyncDispose]: close };
}
