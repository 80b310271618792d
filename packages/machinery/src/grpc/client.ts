import { Client, Metadata, credentials as grpcCredentials } from '@grpc/grpc-js';
import type { CallOptions, ChannelCredentials, ClientOptions, ClientReadableStream, ServiceError } from '@grpc/grpc-js';
import type { DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { createServiceDefinition } from './service.ts';
import { fromGrpcError } from './status.ts';

/** Per-call options of a generated client method. */
export interface CallOpts {
  readonly signal?: AbortSignal;
  readonly metadata?: Metadata | Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

type In<M extends DescMethod> = MessageInitShape<M['input']>;
type Out<M extends DescMethod> = MessageShape<M['output']>;

/** A client method, shaped by the streaming kind of the RPC. */
export type ClientMethod<M extends DescMethod> = M['methodKind'] extends 'unary'
  ? (request: In<M>, opts?: CallOpts) => Promise<Out<M>>
  : M['methodKind'] extends 'server_streaming'
    ? (request: In<M>, opts?: CallOpts) => AsyncIterable<Out<M>>
    : M['methodKind'] extends 'client_streaming'
      ? (requests: AsyncIterable<In<M>>, opts?: CallOpts) => Promise<Out<M>>
      : (requests: AsyncIterable<In<M>>, opts?: CallOpts) => AsyncIterable<Out<M>>;

/** A typed client: one method per RPC, plus closing the channel. */
export type GrpcClient<S extends DescService> = {
  readonly [K in keyof S['method']]: S['method'][K] extends DescMethod ? ClientMethod<S['method'][K]> : never;
} & {
  /** The underlying grpc-js client, for raw calls (e.g. tests sending hand-made bytes). */
  readonly raw: Client;
  close(): void;
  [Symbol.dispose](): void;
};

/** Options of {@link createGrpcClient}. */
export interface GrpcClientOptions {
  /** Defaults to an insecure channel. */
  readonly credentials?: ChannelCredentials;
  readonly channelOptions?: ClientOptions;
}

function toMetadata(md: CallOpts['metadata']): Metadata {
  if (md instanceof Metadata) return md;
  const out = new Metadata();
  if (md) for (const [k, v] of Object.entries(md)) out.set(k, v);
  return out;
}

function callOptions(opts: CallOpts | undefined): CallOptions {
  return opts?.timeoutMs === undefined ? {} : { deadline: Date.now() + opts.timeoutMs };
}

function bindAbort(signal: AbortSignal | undefined, cancel: () => void): () => void {
  if (!signal) return () => {};
  if (signal.aborted) {
    cancel();
    return () => {};
  }
  signal.addEventListener('abort', cancel, { once: true });
  return () => signal.removeEventListener('abort', cancel);
}

async function* readAll<T>(stream: ClientReadableStream<unknown>, unbind: () => void): AsyncIterable<T> {
  try {
    for await (const item of stream) yield item as T;
  } catch (err) {
    throw fromGrpcError(err);
  } finally {
    unbind();
    // Leaving the loop early (break/return) must not leave the RPC running on the server.
    stream.cancel();
  }
}

async function pump(items: AsyncIterable<unknown>, sink: { write(v: unknown): boolean; end(): void }): Promise<void> {
  for await (const item of items) sink.write(item);
  sink.end();
}

/**
 * Creates a typed client for a protobuf-es service. `address` is anything grpc-js dials:
 * `host:port`, `unix:/path/to.sock`, `dns:name:port`.
 */
export function createGrpcClient<S extends DescService>(service: S, address: string, options: GrpcClientOptions = {}): GrpcClient<S> {
  const def = createServiceDefinition(service);
  const raw = new Client(address, options.credentials ?? grpcCredentials.createInsecure(), options.channelOptions ?? {});
  const out: Record<string, unknown> = {
    raw,
    close: () => raw.close(),
    [Symbol.dispose]: () => raw.close(),
  };
  for (const m of service.methods) {
    const d = def[m.localName];
    if (d === undefined) continue;
    const ser = d.requestSerialize;
    const de = d.responseDeserialize;
    switch (m.methodKind) {
      case 'unary':
        out[m.localName] = (req: unknown, opts?: CallOpts) =>
          new Promise((resolve, reject) => {
            let unbind = (): void => {};
            const call = raw.makeUnaryRequest(d.path, ser, de, req, toMetadata(opts?.metadata), callOptions(opts), (err: ServiceError | null, res?: unknown) => {
              unbind();
              if (err) reject(fromGrpcError(err));
              else resolve(res);
            });
            unbind = bindAbort(opts?.signal, () => call.cancel());
          });
        break;
      case 'server_streaming':
        out[m.localName] = (req: unknown, opts?: CallOpts) => {
          const stream = raw.makeServerStreamRequest(d.path, ser, de, req, toMetadata(opts?.metadata), callOptions(opts));
          return readAll(stream, bindAbort(opts?.signal, () => stream.cancel()));
        };
        break;
      case 'client_streaming':
        out[m.localName] = (reqs: AsyncIterable<unknown>, opts?: CallOpts) =>
          new Promise((resolve, reject) => {
            let unbind = (): void => {};
            const call = raw.makeClientStreamRequest(d.path, ser, de, toMetadata(opts?.metadata), callOptions(opts), (err: ServiceError | null, res?: unknown) => {
              unbind();
              if (err) reject(fromGrpcError(err));
              else resolve(res);
            });
            unbind = bindAbort(opts?.signal, () => call.cancel());
            pump(reqs, call).catch(() => call.cancel());
          });
        break;
      case 'bidi_streaming':
        out[m.localName] = (reqs: AsyncIterable<unknown>, opts?: CallOpts) => {
          const call = raw.makeBidiStreamRequest(d.path, ser, de, toMetadata(opts?.metadata), callOptions(opts));
          pump(reqs, call).catch(() => call.cancel());
          return readAll(call, bindAbort(opts?.signal, () => call.cancel()));
        };
        break;
    }
  }
  return out as GrpcClient<S>;
}
