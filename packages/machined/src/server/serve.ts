import { mkdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import type { DescService } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import { createServiceDefinition, createServiceHandlers, shutdownServer, type ServiceImplementation } from '@talos-ts/machinery';

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
  readonly credentials?: ServerCredentials;
  readonly services: readonly Served[];
}

/** Starts a grpc-js server for the given services. */
export async function serve(options: ServeOptions): Promise<RunningServer> {
  const server = new Server({ 'grpc.max_receive_message_length': 32 * 1024 * 1024 });
  for (const s of options.services) {
    server.addService(createServiceDefinition(s.service), createServiceHandlers(s.service, s.implementation as never));
  }
  if (options.address.startsWith('unix:')) {
    const path = options.address.slice('unix:'.length);
    await mkdir(dirname(path), { recursive: true, mode: 0o750 });
    await rm(path, { force: true });
  }
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(options.address, options.credentials ?? ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
  ).catch((err: unknown) => {
    throw new TalosError(Code.Unavailable, `cannot listen on ${options.address}: ${(err as Error).message}`, { cause: err });
  });
  const address = options.address.startsWith('unix:') ? options.address : options.address.replace(/:0$/, `:${port}`);
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> =>
    (closed ??= shutdownServer(server, 2000));
  return { address, close, [Symbol.asyncDispose]: close };
}
