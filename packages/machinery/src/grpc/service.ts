import { once } from 'node:events';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type {
  Metadata,
  Server,
  MethodDefinition,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceDefinition,
  UntypedServiceImplementation,
  sendUnaryData,
} from '@grpc/grpc-js';
import { Code, TalosError } from '@talos-ts/cosi';
import { toGrpcStatus } from './status.ts';

/** Transport security facts grpc-js reports for a call (its AuthContext, not re-exported by grpc-js). */
export type AuthContext = ReturnType<ServerUnaryCall<unknown, unknown>['getAuthContext']>;
/** The part of every grpc-js server call the context is built from. */
interface ServerSurfaceCall {
  readonly metadata: Metadata;
  getPeer(): string;
  getAuthContext(): AuthContext;
  once(event: 'cancelled', fn: () => void): unknown;
  off(event: 'cancelled', fn: () => void): unknown;
}

/** What every handler gets besides its request(s). */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the call finishes. */
  readonly signal: AbortSignal;
  readonly metadata: Metadata;
  /** The remote address as grpc-js reports it, e.g. `127.0.0.1:51234` or `::1:51234`. */
  readonly peer: string;
  /** Transport security of the connection; `sslPeerCertificate` is the client certificate under mTLS. */
  readonly authContext: AuthContext;
  readonly method: DescMethod;
}

type In<M extends DescMethod> = MessageShape<M['input']>;
type Out<M extends DescMethod> = MessageInitShape<M['output']>;

/** The handler shape for one method, picked by its streaming kind. */
export type MethodHandler<M extends DescMethod> = M['methodKind'] extends 'unary'
  ? (request: In<M>, ctx: CallContext) => Promise<Out<M>> | Out<M>
  : M['methodKind'] extends 'server_streaming'
    ? (request: In<M>, ctx: CallContext) => AsyncIterable<Out<M>>
    : M['methodKind'] extends 'client_streaming'
      ? (requests: AsyncIterable<In<M>>, ctx: CallContext) => Promise<Out<M>>
      : (requests: AsyncIterable<In<M>>, ctx: CallContext) => AsyncIterable<Out<M>>;

/** Handlers for every method of a generated service, keyed by the method's local (camelCase) name. */
export type ServiceImplementation<S extends DescService> = {
  [K in keyof S['method']]: S['method'][K] extends DescMethod ? MethodHandler<S['method'][K]> : never;
};

/** A request that failed to parse; the handler wrapper answers it with InvalidArgument. */
class Malformed {
  constructor(readonly reason: string) {}
}

function decoder(schema: DescMessage): (bytes: Buffer) => unknown {
  // grpc-js answers a throwing deserializer with a bare INTERNAL; parsing is deferred to the
  // wrapper so a malformed request gets InvalidArgument and a reason instead.
  return (bytes) => {
    try {
      return fromBinary(schema, bytes);
    } catch (err) {
      return new Malformed(err instanceof Error ? err.message : String(err));
    }
  };
}

function encoder(schema: DescMessage): (value: unknown) => Buffer {
  return (value) => {
    const msg = create(schema, value as MessageInitShape<DescMessage>);
    const bin = toBinary(schema, msg);
    return Buffer.from(bin.buffer, bin.byteOffset, bin.byteLength);
  };
}

function unwrap<T>(value: unknown, method: DescMethod): T {
  if (value instanceof Malformed) {
    throw new TalosError(Code.InvalidArgument, `malformed ${method.input.typeName}: ${value.reason}`);
  }
  return value as T;
}

/** The gRPC path of a method: `/<package.Service>/<Method>`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** grpc-js method definitions (path, streaming flags, protobuf-es binary codecs) for a service. */
export function createServiceDefinition(service: DescService): ServiceDefinition {
  const def: Record<string, MethodDefinition<unknown, unknown>> = {};
  for (const m of service.methods) {
    def[m.localName] = {
      path: methodPath(m),
      requestStream: m.methodKind === 'client_streaming' || m.methodKind === 'bidi_streaming',
      responseStream: m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming',
      requestSerialize: encoder(m.input),
      requestDeserialize: decoder(m.input),
      responseSerialize: encoder(m.output),
      responseDeserialize: (bytes: Buffer) => fromBinary(m.output, bytes),
      originalName: m.localName,
    };
  }
  return def;
}

function contextOf(call: ServerSurfaceCall, method: DescMethod): { ctx: CallContext; done: () => void } {
  const ac = new AbortController();
  const abort = (): void => ac.abort(new TalosError(Code.Canceled, 'call cancelled by the client'));
  call.once('cancelled', abort);
  const ctx: CallContext = {
    signal: ac.signal,
    metadata: call.metadata,
    peer: call.getPeer(),
    authContext: call.getAuthContext(),
    method,
  };
  const done = (): void => {
    call.off('cancelled', abort);
    ac.abort(new TalosError(Code.Canceled, 'call finished'));
  };
  return { ctx, done };
}

async function* requestsOf<T>(stream: ServerReadableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>, method: DescMethod): AsyncIterable<T> {
  // The default iterator destroys the stream when the loop ends, which for a bidi call would
  // also kill the response side before the handler has written its last message and status.
  for await (const raw of stream.iterator({ destroyOnReturn: false })) yield unwrap<T>(raw, method);
}

async function writeAll(
  call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>,
  items: AsyncIterable<unknown>,
  signal: AbortSignal,
): Promise<void> {
  for await (const item of items) {
    if (signal.aborted) return;
    // Respect HTTP/2 flow control: a slow reader makes us wait here instead of buffering.
    if (!call.write(item)) await once(call, 'drain', { signal });
  }
}

function wrap(method: DescMethod, handler: (...args: never[]) => unknown): (...args: never[]) => void {
  const h = handler as (a: unknown, ctx: CallContext) => unknown;
  switch (method.methodKind) {
    case 'unary':
      return ((call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
        const { ctx, done } = contextOf(call, method);
        Promise.resolve()
          .then(() => h(unwrap(call.request, method), ctx))
          .then(
            (res) => cb(null, res),
            (err: unknown) => cb(toGrpcStatus(err)),
          )
          .finally(done);
      }) as (...args: never[]) => void;
    case 'client_streaming':
      return ((call: ServerReadableStream<unknown, unknown>, cb: sendUnaryData<unknown>) => {
        const { ctx, done } = contextOf(call, method);
        Promise.resolve()
          .then(() => h(requestsOf(call, method), ctx))
          .then(
            (res) => cb(null, res),
            (err: unknown) => cb(toGrpcStatus(err)),
          )
          .finally(done);
      }) as (...args: never[]) => void;
    case 'server_streaming':
    case 'bidi_streaming':
      return ((call: ServerWritableStream<unknown, unknown> | ServerDuplexStream<unknown, unknown>) => {
        const { ctx, done } = contextOf(call, method);
        Promise.resolve()
          .then(() => {
            const input =
              method.methodKind === 'server_streaming'
                ? unwrap((call as ServerWritableStream<unknown, unknown>).request, method)
                : requestsOf(call as ServerDuplexStream<unknown, unknown>, method);
            return writeAll(call, h(input, ctx) as AsyncIterable<unknown>, ctx.signal);
          })
          .then(
            () => {
              if (!ctx.signal.aborted) call.end();
            },
            (err: unknown) => {
              if (!ctx.signal.aborted) call.emit('error', toGrpcStatus(err));
            },
          )
          .finally(done);
      }) as (...args: never[]) => void;
  }
}

/** grpc-js handlers for a protobuf-es service implementation, for `server.addService(def, impl)`. */
export function createServiceHandlers<S extends DescService>(
  service: S,
  impl: ServiceImplementation<S>,
): UntypedServiceImplementation {
  const out: UntypedServiceImplementation = {};
  const handlers = impl as Record<string, (...args: never[]) => unknown>;
  for (const m of service.methods) {
    const h = handlers[m.localName];
    if (h === undefined) throw new TalosError(Code.Internal, `no handler for ${methodPath(m)}`);
    out[m.localName] = wrap(m, h) as UntypedServiceImplementation[string];
  }
  return out;
}

/**
 * Stops a grpc-js server: lets in-flight calls finish for up to graceMs, then cancels the rest.
 * Every daemon (machined, apid, trustd) shuts down this way.
 */
export function shutdownServer(server: Server, graceMs: number): Promise<void> {
  return new Promise<void>((done) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      done();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      done();
    });
  });
}
