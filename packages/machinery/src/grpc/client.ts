import { Code } from '@talos-ts/cosi';
import type { DescMessage, DescMethod, DescService, MessageInitShape, MessageShape } from '@bufbuild/protobuf';
import { createH2Channel } from './h2/channel.ts';
import type { H2CallOptions, H2Channel, H2ChannelOptions } from './h2/channel.ts';
import { metadataOf } from './h2/wire.ts';
import type { GrpcMetadata } from './h2/wire.ts';
import { decodeMessage, encodeMessage, methodPath } from './service.ts';

/** Per-call options of a generated client method. */
export interface CallOpts {
  readonly signal?: AbortSignal;
  readonly metadata?: GrpcMetadata | Readonly<Record<string, string>>;
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
  /** The underlying channel, for raw calls (e.g. tests sending hand-made bytes). */
  readonly channel: H2Channel;
  close(): void;
  [Symbol.dispose](): void;
};

/** Options of {@link createGrpcClient}: TLS material for a `host:port` target, message size cap. */
export type GrpcClientOptions = H2ChannelOptions;

function h2Options(opts: CallOpts | undefined): H2CallOptions {
  if (opts === undefined) return {};
  const md = opts.metadata;
  return {
    ...(md === undefined ? {} : { metadata: md instanceof Map ? md : metadataOf(md) }),
    ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }),
    ...(opts.signal === undefined ? {} : { signal: opts.signal }),
  };
}

async function* decodeAll(schema: DescMessage, replies: AsyncIterable<Buffer>): AsyncIterable<unknown> {
  for await (const r of replies) yield decodeMessage(schema, r, Code.Internal);
}

async function* encodeAll(schema: DescMessage, requests: AsyncIterable<unknown>): AsyncIterable<Uint8Array> {
  for await (const r of requests) yield encodeMessage(schema, r as MessageInitShape<DescMessage>);
}

/**
 * Creates a typed client for a protobuf-es service over one HTTP/2 connection. `address` is
 * `host:port` / `[v6]:port` (TLS: pass `tls`, or `plaintext` for loopback tests) or `unix:/path`.
 */
export function createGrpcClient<S extends DescService>(service: S, address: string, options: GrpcClientOptions = {}): GrpcClient<S> {
  return clientOn(service, createH2Channel(address, options), true);
}

/** A typed client on an existing channel; closing it closes the channel only when `owns`. */
export function clientOn<S extends DescService>(service: S, channel: H2Channel, owns = false): GrpcClient<S> {
  const close = (): void => {
    if (owns) channel.close();
  };
  const out: Record<string | symbol, unknown> = { channel, close, [Symbol.dispose]: close };
  for (const m of service.methods) {
    const path = methodPath(m);
    const { input, output } = m;
    switch (m.methodKind) {
      case 'unary':
        out[m.localName] = async (req: unknown, opts?: CallOpts) =>
          decodeMessage(output, await channel.unary(path, encodeMessage(input, req as MessageInitShape<DescMessage>), h2Options(opts)), Code.Internal);
        break;
      case 'server_streaming':
        out[m.localName] = (req: unknown, opts?: CallOpts) =>
          decodeAll(output, channel.serverStream(path, encodeMessage(input, req as MessageInitShape<DescMessage>), h2Options(opts)));
        break;
      case 'client_streaming':
        out[m.localName] = async (reqs: AsyncIterable<unknown>, opts?: CallOpts) =>
          decodeMessage(output, await channel.clientStream(path, encodeAll(input, reqs), h2Options(opts)), Code.Internal);
        break;
      case 'bidi_streaming':
        out[m.localName] = (reqs: AsyncIterable<unknown>, opts?: CallOpts) => decodeAll(output, channel.bidi(path, encodeAll(input, reqs), h2Options(opts)));
        break;
    }
  }
  return out as GrpcClient<S>;
}
