// The Talos API client: one mTLS channel per apid endpoint, calls spread across endpoints and
// retried on the next one when an endpoint is unreachable, and node targeting through gRPC
// metadata exactly as upstream talosctl sends it.

import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { clientOn, type CallOpts, type ClientMethod, type GrpcClient } from '../grpc/client.ts';
import { NodeChannelBounds, createH2Channel, type H2Channel, type H2ChannelOptions } from '../grpc/h2/channel.ts';
import { metadataOf, type GrpcMetadata } from '../grpc/h2/wire.ts';
import { TALOS_API_PORT } from '../contract/ports.ts';
import { MachineService } from '../gen/machine/machine_pb.ts';
import { State } from '../gen/cosi/v1alpha1/state_pb.ts';
import { InspectService } from '../gen/inspect/inspect_pb.ts';
import { TimeService } from '../gen/time/time_pb.ts';
import { privateKeyFromPem, privateKeyToPkcs8Pem } from '../secrets/keys.ts';
import { contextCredentials, type TalosconfigContext } from './talosconfig.ts';

/** How calls pick their target nodes, as upstream's client.WithNodes / client.WithNode. */
export type NodeTargeting =
  /** No node metadata: the endpoint answers itself. */
  | { readonly kind: 'none' }
  /** `nodes` metadata (one-to-many): apid fans the call out and merges the replies. */
  | { readonly kind: 'nodes'; readonly nodes: readonly string[] }
  /** `node` metadata (one-to-one): apid proxies the call to one node. */
  | { readonly kind: 'node'; readonly node: string };

/** Options of {@link createTalosClient}. */
export interface TalosClientOptions {
  /** apid addresses: `host`, `host:port`, `[v6]:port`; the port defaults to 50000. */
  readonly endpoints: readonly string[];
  /** Nodes every call targets (`nodes` metadata); empty or absent sends no node metadata. */
  readonly nodes?: readonly string[];
  /** PEM of the OS CA the server certificate must chain to (required unless insecure). */
  readonly caPem?: string;
  /** PEM client certificate and key (required unless insecure). */
  readonly crtPem?: string;
  readonly keyPem?: string;
  /** Maintenance mode: TLS without a client certificate and without verifying the server. */
  readonly insecure?: boolean;
  /** Endpoints tried per call before giving up; defaults to the number of endpoints, at most 5. */
  readonly maxAttempts?: number;
}

/** A service whose methods fail over between endpoints and carry the client's node metadata. */
export type TalosService<S extends DescService> = {
  readonly [K in keyof S['method']]: S['method'][K] extends DescMethod ? TalosMethod<S['method'][K]> : never;
};

/** One client method, shaped by the streaming kind of the RPC (the same shape as the plain gRPC client's). */
export type TalosMethod<M extends DescMethod> = ClientMethod<M>;

/** The API client. Views made by {@link TalosClient.withNodes} share the channels of their root. */
export interface TalosClient {
  /** machine.MachineService (nodes metadata, one-to-many). */
  readonly machine: TalosService<typeof MachineService>;
  /** cosi.resource.State (resources: get, list, watch, update). */
  readonly resources: TalosService<typeof State>;
  /** inspect.InspectService (controller dependency graph). */
  readonly inspect: TalosService<typeof InspectService>;
  /** time.TimeService (the node's time against an NTP server). */
  readonly time: TalosService<typeof TimeService>;
  /** Endpoints as dialled (`host:port`). */
  readonly endpoints: readonly string[];
  /** How this view targets nodes. */
  readonly targeting: NodeTargeting;
  /** The endpoint that answered the last call that got through; the node name of a reply without one. */
  readonly lastEndpoint: string | undefined;
  /** A view sending `nodes: …` (one-to-many); an empty list sends no node metadata. */
  withNodes(nodes: readonly string[]): TalosClient;
  /** A view sending `node: X` (one-to-one), as the COSI state API needs. */
  withNode(node: string): TalosClient;
  /** Closes every channel (views share them, so closing a view closes the root). */
  close(): void;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Adds the default port to an endpoint that has none (`10.0.0.1` → `10.0.0.1:50000`, `::1` → `[::1]:50000`). */
export function normalizeEndpoint(endpoint: string): string {
  let e = endpoint.trim().replace(/^(https?|grpc|tcp):\/\//, '');
  e = e.replace(/\/+$/, '');
  if (e.startsWith('[')) return /\]:\d+$/.test(e) ? e : `${e}:${TALOS_API_PORT}`;
  const colons = e.split(':').length - 1;
  if (colons > 1) return `[${e}]:${TALOS_API_PORT}`;
  if (colons === 1) return e;
  return `${e}:${TALOS_API_PORT}`;
}

/** Options for a client built from a talosconfig context, with command-line overrides. */
export function talosClientOptionsFromContext(
  context: TalosconfigContext,
  overrides: { readonly endpoints?: readonly string[]; readonly nodes?: readonly string[] } = {},
): TalosClientOptions {
  const endpoints = overrides.endpoints && overrides.endpoints.length > 0 ? overrides.endpoints : context.endpoints;
  const nodes = overrides.nodes && overrides.nodes.length > 0 ? overrides.nodes : (context.nodes ?? []);
  const creds = contextCredentials(context);
  return { endpoints: [...endpoints], nodes: [...nodes], caPem: creds.caPem, crtPem: creds.crtPem, keyPem: creds.keyPem };
}

/** How one endpoint is dialled: TLS material for the h2 channel. */
type Dial = H2ChannelOptions;

function dialer(options: TalosClientOptions): (endpoint: string) => Dial {
  if (options.insecure) {
    // Maintenance mode: the node has no identity yet, so there is nothing to verify it against.
    const insecure: Dial = { tls: { insecureSkipVerify: true }, ...NodeChannelBounds };
    return () => insecure;
  }
  if (!options.caPem || !options.crtPem || !options.keyPem) {
    throw new TalosError(Code.FailedPrecondition, 'client credentials (ca, crt, key) are required unless insecure');
  }
  // Talos writes Ed25519 keys under its own PEM label, which OpenSSL cannot read.
  const dial: Dial = {
    tls: { caPem: options.caPem, certPem: options.crtPem, keyPem: privateKeyToPkcs8Pem(privateKeyFromPem(options.keyPem)) },
    // A dead endpoint fails the call (and the next endpoint is tried) instead of hanging it.
    ...NodeChannelBounds,
  };
  return () => dial;
}

function targetingMetadata(targeting: NodeTargeting, extra: CallOpts['metadata']): GrpcMetadata {
  const md: GrpcMetadata = extra instanceof Map ? new Map([...extra].map(([k, v]) => [k, [...v]])) : metadataOf(extra ?? {});
  if (targeting.kind === 'nodes') md.set('nodes', [...(md.get('nodes') ?? []), ...targeting.nodes]);
  if (targeting.kind === 'node') md.set('node', [targeting.node]);
  return md;
}

/** Shared by a root client and its views. */
interface Channels {
  readonly endpoints: string[];
  readonly raw: Map<DescService, GrpcClient<DescService>[]>;
  /** One HTTP/2 connection per endpoint, shared by every service and view. */
  readonly channels: Map<string, H2Channel>;
  readonly maxAttempts: number;
  readonly dial: (endpoint: string) => Dial;
  next: number;
  lastEndpoint: string | undefined;
  closed: boolean;
}

function clientsFor<S extends DescService>(ch: Channels, service: S): GrpcClient<S>[] {
  let list = ch.raw.get(service);
  if (!list) {
    list = ch.endpoints.map((e) => {
      let channel = ch.channels.get(e);
      if (channel === undefined) {
        channel = createH2Channel(e, ch.dial(e));
        ch.channels.set(e, channel);
      }
      return clientOn(service, channel) as unknown as GrpcClient<DescService>;
    });
    ch.raw.set(service, list);
  }
  return list as unknown as GrpcClient<S>[];
}

function retriable(err: unknown): boolean {
  return hasCode(err, Code.Unavailable);
}

function startIndex(ch: Channels): number {
  const i = ch.next % ch.endpoints.length;
  ch.next = (ch.next + 1) % ch.endpoints.length;
  return i;
}

type AnyFn = (arg: unknown, opts?: CallOpts) => unknown;

function failoverService<S extends DescService>(ch: Channels, service: S, targeting: NodeTargeting): TalosService<S> {
  const out: Record<string, unknown> = {};
  const attempts = (): number => Math.min(ch.maxAttempts, ch.endpoints.length);
  const optsFor = (opts: CallOpts | undefined): CallOpts => ({ ...opts, metadata: targetingMetadata(targeting, opts?.metadata) });
  const check = (): void => {
    if (ch.closed) throw new TalosError(Code.FailedPrecondition, 'client is closed');
  };
  for (const m of service.methods) {
    const name = m.localName;
    const call = (i: number): AnyFn => (clientsFor(ch, service)[i] as unknown as Record<string, AnyFn>)[name] as AnyFn;
    switch (m.methodKind) {
      case 'unary':
        out[name] = async (req: unknown, opts?: CallOpts) => {
          check();
          const first = startIndex(ch);
          let lastErr: unknown;
          for (let a = 0; a < attempts(); a++) {
            const i = (first + a) % ch.endpoints.length;
            try {
              const res = await (call(i)(req, optsFor(opts)) as Promise<unknown>);
              ch.lastEndpoint = ch.endpoints[i];
              return res;
            } catch (err) {
              lastErr = err;
              if (!retriable(err) || opts?.signal?.aborted) break;
            }
          }
          throw lastErr;
        };
        break;
      case 'server_streaming':
        out[name] = (req: unknown, opts?: CallOpts) =>
          (async function* () {
            check();
            const first = startIndex(ch);
            let lastErr: unknown;
            for (let a = 0; a < attempts(); a++) {
              const i = (first + a) % ch.endpoints.length;
              let received = false;
              try {
                for await (const item of call(i)(req, optsFor(opts)) as AsyncIterable<unknown>) {
                  if (!received) ch.lastEndpoint = ch.endpoints[i];
                  received = true;
                  yield item;
                }
                ch.lastEndpoint = ch.endpoints[i];
                return;
              } catch (err) {
                lastErr = err;
                // Once messages flowed the stream cannot be replayed elsewhere without duplicating them.
                if (received || !retriable(err) || opts?.signal?.aborted) break;
              }
            }
            throw lastErr;
          })();
        break;
      default:
        // Client-side streams cannot be replayed on another endpoint: they go to one endpoint.
        out[name] = (reqs: unknown, opts?: CallOpts) => {
          check();
          const i = startIndex(ch);
          ch.lastEndpoint = ch.endpoints[i];
          return call(i)(reqs, optsFor(opts));
        };
    }
  }
  return out as TalosService<S>;
}

function view(ch: Channels, targeting: NodeTargeting): TalosClient {
  let machine: TalosService<typeof MachineService> | undefined;
  let resources: TalosService<typeof State> | undefined;
  let inspect: TalosService<typeof InspectService> | undefined;
  let time: TalosService<typeof TimeService> | undefined;
  const close = (): void => {
    if (ch.closed) return;
    ch.closed = true;
    for (const c of ch.channels.values()) c.close();
  };
  return {
    get machine() {
      return (machine ??= failoverService(ch, MachineService, targeting));
    },
    get resources() {
      return (resources ??= failoverService(ch, State, targeting));
    },
    get inspect() {
      return (inspect ??= failoverService(ch, InspectService, targeting));
    },
    get time() {
      return (time ??= failoverService(ch, TimeService, targeting));
    },
    endpoints: ch.endpoints,
    targeting,
    get lastEndpoint() {
      return ch.lastEndpoint;
    },
    withNodes: (nodes) => view(ch, nodes.length > 0 ? { kind: 'nodes', nodes: [...nodes] } : { kind: 'none' }),
    withNode: (node) => view(ch, { kind: 'node', node }),
    close,
    [Symbol.asyncDispose]: async () => close(),
  };
}

/** Creates a client; no connection is made until the first call. */
export function createTalosClient(options: TalosClientOptions): TalosClient {
  const endpoints = options.endpoints.map(normalizeEndpoint).filter((e) => e !== '');
  if (endpoints.length === 0) throw new TalosError(Code.InvalidArgument, 'no endpoints configured');
  const ch: Channels = {
    endpoints,
    raw: new Map(),
    channels: new Map(),
    maxAttempts: Math.max(1, options.maxAttempts ?? Math.min(endpoints.length, 5)),
    dial: dialer(options),
    next: 0,
    lastEndpoint: undefined,
    closed: false,
  };
  const nodes = options.nodes ?? [];
  return view(ch, nodes.length > 0 ? { kind: 'nodes', nodes: [...nodes] } : { kind: 'none' });
}
