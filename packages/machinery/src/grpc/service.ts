import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import type { PeerCertificate } from 'node:tls';
import { Code, TalosError } from '@talos-ts/cosi';
import type { H2Server, ServerCall } from './h2/server.ts';
import type { GrpcMetadata } from './h2/wire.ts';

/** What every handler gets besides its request(s). */
export interface CallContext {
  /** Aborted when the client cancels, the deadline passes or the call finishes. */
  readonly signal: AbortSignal;
  readonly metadata: GrpcMetadata;
  /** The remote address, e.g. `127.0.0.1:51234`, `[::1]:51234`, or `unix` for a unix socket. */
  readonly peer: string;
  /** The verified client certificate under mTLS (computed once per connection). */
  readonly peerCertificate: PeerCertificate | undefined;
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

/** The gRPC path of a method: `/<package.Service>/<Method>`. */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/**
 * Parses a message. A malformed request is the caller's fault (InvalidArgument, the default);
 * a client parsing a malformed reply passes Internal.
 */
export function decodeMessage<D extends DescMessage>(schema: D, bytes: Uint8Array, code: Code = Code.InvalidArgument): MessageShape<D> {
  try {
    return fromBinary(schema, bytes);
  } catch (err) {
    throw new TalosError(code, `malformed ${schema.typeName}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Serializes a message given in its init shape (plain object or message). */
export function encodeMessage<D extends DescMessage>(schema: D, value: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, value));
}

function contextOf(call: ServerCall, method: DescMethod): CallContext {
  return { signal: call.signal, metadata: call.metadata, peer: call.peer, peerCertificate: call.peerCertificate, method };
}

async function* requestsOf(call: ServerCall, schema: DescMessage): AsyncIterable<unknown> {
  for await (const raw of call.messages()) yield decodeMessage(schema, raw);
}

async function writeAll(call: ServerCall, items: AsyncIterable<unknown>, schema: DescMessage, signal: AbortSignal): Promise<void> {
  for await (const item of items) {
    if (call.finished) return;
    // Respect HTTP/2 flow control: a slow reader makes us wait here instead of buffering.
    if (!call.write(encodeMessage(schema, item as MessageInitShape<DescMessage>))) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        call.onDrain(done);
        signal.addEventListener('abort', done, { once: true });
      });
    }
  }
}

function handlerFor(method: DescMethod, handler: (...args: never[]) => unknown): (call: ServerCall) => Promise<void> {
  const h = handler as (a: unknown, ctx: CallContext) => unknown;
  const input = method.input;
  const output = method.output;
  switch (method.methodKind) {
    case 'unary':
      return async (call) => {
        const res = await h(decodeMessage(input, call.request), contextOf(call, method));
        call.write(encodeMessage(output, res as MessageInitShape<DescMessage>));
        call.end();
      };
    case 'client_streaming':
      return async (call) => {
        const res = await h(requestsOf(call, input), contextOf(call, method));
        if (call.finished) return;
        call.write(encodeMessage(output, res as MessageInitShape<DescMessage>));
        call.end();
      };
    case 'server_streaming':
    case 'bidi_streaming':
      return async (call) => {
        const ctx = contextOf(call, method);
        const req = method.methodKind === 'server_streaming' ? decodeMessage(input, call.request) : requestsOf(call, input);
        await writeAll(call, h(req, ctx) as AsyncIterable<unknown>, output, ctx.signal);
        call.end();
      };
  }
}

/**
 * Registers a protobuf-es service implementation on an h2 server: requests are parsed (a
 * malformed one answers InvalidArgument), replies serialized, a thrown TalosError becomes the
 * call's status with its code.
 */
export function registerService<S extends DescService>(server: H2Server, service: S, impl: ServiceImplementation<S>): void {
  const handlers = impl as Record<string, ((...args: never[]) => unknown) | undefined>;
  for (const m of service.methods) {
    const h = handlers[m.localName];
    if (h === undefined) throw new TalosError(Code.Internal, `no handler for ${methodPath(m)}`);
    server.register(methodPath(m), m.methodKind, handlerFor(m, h));
  }
}
