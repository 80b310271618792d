import { setMaxListeners } from 'node:events';
import { createSecureContext } from 'node:tls';
import { Code, TalosError, nullLogger } from '@talos-ts/cosi';
import type { Logger } from '@talos-ts/cosi';
import { CertFiles, NodeChannelBounds, STATUS_OK, TALOS_API_PORT, createH2Channel, createH2Server, isAllowed, rolesForMethod, watchFiles } from '@talos-ts/machinery';
import type { CallStatus, ClientCall, ClientCallHandlers, FileContents, GrpcMetadata, H2Channel, H2ChannelOptions, H2ChannelTls, H2Server, H2ServerOptions, H2ServerTls, MethodKind, Role, ServerCall } from '@talos-ts/machinery';
import { proxiedMethods } from './gen/methods.ts';
import { callerOf, certificateRoles, defaultNodeAddress, forwardMetadata, peerHost, routeOf } from './route.ts';
import type { Caller, Route } from './route.ts';
import { errorMessage, joinRepeated, repeatedMessages, withHostname } from './wire.ts';

/** Every method apid proxies (as raw bytes), by gRPC path, with its streaming kind. */
export { proxiedMethods };

/** File names apid reads from its certificates directory (the node contract's, in machinery). */
export const ApidCertFiles = {
  ca: CertFiles.ca,
  serverCrt: CertFiles.serverCrt,
  serverKey: CertFiles.serverKey,
  clientCrt: CertFiles.clientCrt,
  clientKey: CertFiles.clientKey,
} as const;

/** Upstream's port of apid on every node (the node contract's). */
export const APID_PORT = TALOS_API_PORT;

/**
 * Upstream's limit of a gRPC message through apid (32 MiB): apply-config carries whole machine
 * configs (inline manifests, extension configs) and must not be cut below what upstream takes.
 * It costs nothing before authorization: a call is admitted on its headers, a refused call's
 * body is never read, and reassembly is linear.
 */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

/** Defaults of the remote channel cache (see {@link ApidOptions}). */
export const ApidDefaults = {
  /** Channels to other nodes kept at once: above a fan-out call's cap, so one call never evicts its own. */
  maxRemoteChannels: 512,
  /** A channel to another node unused this long is closed (upstream's idle timeout is 15 min). */
  remoteIdleMs: 5 * 60_000,
} as const;

/** Options of {@link createApid}. */
export interface ApidOptions {
  /** `host:port` to listen on (port 0 picks one). */
  readonly listen: string;
  /** machined's unix socket. */
  readonly machinedSocket: string;
  /** Directory holding ca.crt, server.crt/key and (optionally) client.crt/key. */
  readonly certsDir: string;
  /** This node's own name/address: calls targeted at it are served locally. */
  readonly node: string;
  readonly logger?: Logger;
  /** Port of other nodes' apid when a node is named without one; defaults to 50000. */
  readonly remotePort?: number;
  /** Maps a node name to the address to dial; defaults to `name:remotePort`. */
  readonly resolveNode?: (node: string) => string;
  /** How often the certificates are re-read besides change notifications; defaults to 3000. */
  readonly certPollMs?: number;
  /** Channels to other nodes kept at once (least recently used go first); see {@link ApidDefaults}. */
  readonly maxRemoteChannels?: number;
  /** Closes a channel to another node unused for this long; see {@link ApidDefaults}. */
  readonly remoteIdleMs?: number;
  /**
   * Connect timeout and keepalive of channels to other nodes; {@link NodeChannelBounds} (upstream's
   * 20 s connect timeout, a PING every 10 s while calls are in flight) when absent.
   */
  readonly remoteBounds?: Pick<H2ChannelOptions, 'connectTimeoutMs' | 'keepalive'>;
  /** Connection limits of the API server (per-connection streams, connections, timeouts); the h2 server's defaults otherwise. */
  readonly serverLimits?: Pick<H2ServerOptions, 'maxConcurrentStreams' | 'maxConnections' | 'handshakeTimeoutMs' | 'idleTimeoutMs'>;
}

/** A running (or not yet started) apid. */
export interface Apid extends AsyncDisposable {
  /** Binds and starts serving; resolves to the bound `host:port`. */
  listen(): Promise<string>;
  /** Stops accepting calls, cancels the rest after a grace period, closes every channel. */
  close(graceMs?: number): Promise<void>;
  /** Channels to other nodes currently cached. */
  readonly remoteChannels: number;
  /** Client connections open on the API server (0 before `listen()`). */
  readonly connections: number;
}

/** What every call carries from the checks to its log line. */
interface CallState {
  readonly path: string;
  readonly caller: Caller;
  readonly route: Route;
  readonly started: number;
  readonly peer: string;
}

// gRPC's own code names, for log lines.
const codeNames = ['OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED'];

const COSI_STATE = '/cosi.resource.State/';

function errorText(err: unknown): string {
  return TalosError.from(err).message;
}

const isStreamingRequest = (kind: MethodKind): boolean => kind === 'client_streaming' || kind === 'bidi_streaming';

/**
 * Relays one upstream call to the server call unchanged: messages (with flow control both
 * ways) and the final status. One object per call instead of a handful of closures.
 */
class Relay implements ClientCallHandlers {
  up: ClientCall | undefined;
  readonly #call: ServerCall;
  readonly #done: (code: number) => void;
  readonly #mapStatus: (status: CallStatus) => CallStatus;

  constructor(call: ServerCall, done: (code: number) => void, mapStatus: (status: CallStatus) => CallStatus) {
    this.#call = call;
    this.#done = done;
    this.#mapStatus = mapStatus;
  }

  onMessage(message: Buffer): void {
    if (!this.#call.write(message)) {
      const up = this.up as ClientCall;
      up.pause();
      this.#call.onDrain(() => up.resume());
    }
  }

  onStatus(received: CallStatus): void {
    const status = this.#mapStatus(received);
    this.#done(status.code);
    this.#call.sendStatus(status.code, status.message);
  }

  /** Feeds the client's request stream into the upstream call. */
  pumpRequests(): void {
    const call = this.#call;
    const up = this.up as ClientCall;
    call.onMessage(
      (m) => {
        if (!up.write(m)) {
          call.pause();
          up.onDrain(() => call.resume());
        }
      },
      () => up.end(),
    );
  }
}

/** Creates apid; call `listen()` to start it. */
export function createApid(options: ApidOptions): Apid {
  const log = (options.logger ?? nullLogger).child({ component: 'apid' });
  const remotePort = options.remotePort ?? APID_PORT;
  const resolve = options.resolveNode ?? ((n: string) => defaultNodeAddress(n, remotePort));
  const local = createH2Channel(`unix:${options.machinedSocket}`, { maxMessageBytes: MAX_MESSAGE_BYTES });
  const maxRemotes = Math.max(1, options.maxRemoteChannels ?? ApidDefaults.maxRemoteChannels);
  const remoteIdleMs = options.remoteIdleMs ?? ApidDefaults.remoteIdleMs;
  const remoteBounds = options.remoteBounds ?? NodeChannelBounds;
  // Channels to other nodes by address, least recently used first (a Map keeps insertion order
  // and every use re-inserts). Bounded and swept, so naming many nodes cannot grow apid for good.
  const remotes = new Map<string, { channel: H2Channel; usedAt: number }>();
  let sweeper: NodeJS.Timeout | undefined;
  // The certificate of a connection cannot change, so its roles are worked out once per session.
  const sessionRoles = new WeakMap<object, ReadonlySet<Role>>();
  let clientMaterial: H2ChannelTls | undefined;
  let server: H2Server | undefined;
  let watcher: Disposable | undefined;
  let closed = false;
  const selfAddress = resolve(options.node);

  const isSelf = (target: string | undefined): boolean => target === undefined || target === options.node || resolve(target) === selfAddress;

  /** Closes channels unused for `remoteIdleMs`; calls in flight on them finish first (drain). */
  const sweep = (): void => {
    const oldest = performance.now() - remoteIdleMs;
    for (const [address, entry] of remotes) {
      // Least recently used first: the first one still fresh ends the sweep.
      if (entry.usedAt > oldest) break;
      remotes.delete(address);
      entry.channel.drain();
    }
    if (remotes.size === 0 && sweeper !== undefined) {
      clearInterval(sweeper);
      sweeper = undefined;
    }
  };

  const remoteChannel = (target: string): H2Channel => {
    const address = resolve(target);
    const cached = remotes.get(address);
    if (cached !== undefined) {
      remotes.delete(address);
      cached.usedAt = performance.now();
      remotes.set(address, cached);
      return cached.channel;
    }
    if (clientMaterial === undefined) {
      throw new TalosError(Code.FailedPrecondition, `this node has no client certificate (${ApidCertFiles.clientCrt}) to reach node ${target}`);
    }
    while (remotes.size >= maxRemotes) {
      const [lru, entry] = remotes.entries().next().value as [string, { channel: H2Channel }];
      remotes.delete(lru);
      entry.channel.drain();
    }
    // Bounded dial and keepalive: a node whose path went dead (down, rebooting, its traffic
    // black-holed in a KubeSpan link) fails the calls through it instead of holding them for the
    // kernel's TCP timeouts.
    const channel = createH2Channel(address, { tls: clientMaterial, maxMessageBytes: MAX_MESSAGE_BYTES, ...remoteBounds });
    remotes.set(address, { channel, usedAt: performance.now() });
    if (sweeper === undefined && remoteIdleMs > 0 && !closed) {
      sweeper = setInterval(sweep, Math.max(10, Math.min(remoteIdleMs / 2, 60_000)));
      sweeper.unref();
    }
    return channel;
  };

  /**
   * What the client is told when another node could not be reached. DNS, TCP, TLS and protocol
   * failures all read the same, so apid cannot be used to probe a network; the detail is
   * logged here. Statuses the far node sent, cancellations and deadlines pass unchanged.
   */
  const remoteStatus = (target: string, status: CallStatus): CallStatus => {
    if (status.local !== true || !(status.code === Code.Unavailable || status.code === Code.Internal || status.code === Code.Unknown)) return status;
    log.info('node unreachable', { node: target, code: codeNames[status.code] ?? status.code, error: status.message });
    return unreachable(target);
  };
  const unreachable = (target: string): CallStatus => ({ code: Code.Unavailable, message: `node ${target} is unreachable`, metadata: new Map(), local: true });
  const keep = (status: CallStatus): CallStatus => status;
  const statusMapFor = (target: string | undefined): ((s: CallStatus) => CallStatus) => (isSelf(target) ? keep : (s) => remoteStatus(target as string, s));

  /** Starts an upstream call; a channel that cannot even start one counts as unreachable. */
  const startUp = (channel: H2Channel, target: string | undefined, path: string, handlers: ClientCallHandlers, opts: Parameters<H2Channel['start']>[2]): ClientCall | undefined => {
    try {
      return channel.start(path, handlers, opts);
    } catch (err) {
      const e = TalosError.from(err);
      handlers.onStatus(statusMapFor(target)({ code: e.code, message: e.message, metadata: new Map(), local: true }));
      return undefined;
    }
  };

  /** The channel and metadata of one destination; throws when a remote node cannot be reached. */
  const backendFor = (target: string | undefined, state: CallState, md: GrpcMetadata): { channel: H2Channel; metadata: GrpcMetadata } => {
    if (isSelf(target)) return { channel: local, metadata: forwardMetadata(md, state.caller.roles, undefined) };
    return { channel: remoteChannel(target as string), metadata: forwardMetadata(md, state.caller.roles, peerHost(state.peer)) };
  };

  const logCall = (state: CallState, code: number): void => {
    const route = state.route;
    log.info('call', {
      method: state.path,
      peer: state.peer,
      roles: [...state.caller.roles].join(','),
      ...(state.caller.impersonated ? { proxied: true } : {}),
      targets: route.mode === 'many' ? route.targets.join(',') : (route.target ?? 'local'),
      durationMs: Math.round((performance.now() - state.started) * 1000) / 1000,
      code: codeNames[code] ?? code,
    });
  };

  /** Authenticates, authorizes and routes a call; throws a TalosError the caller reports. */
  const begin = (call: ServerCall): CallState => {
    const kind = call.kind;
    const path = call.path;
    let certRoles = sessionRoles.get(call.session);
    if (certRoles === undefined) {
      certRoles = certificateRoles(call.peerCertificate);
      sessionRoles.set(call.session, certRoles);
    }
    const caller = callerOf(certRoles, call.metadata);
    if (!isAllowed(path, caller.roles)) {
      const have = caller.roles.size === 0 ? 'none' : [...caller.roles].join(', ');
      throw new TalosError(Code.PermissionDenied, `${path} requires one of the roles ${rolesForMethod(path).join(', ')}; the caller has ${have}`);
    }
    let route = routeOf(call.metadata);
    const cosi = path.startsWith(COSI_STATE);
    if (route.mode === 'many' && route.targets.length === 1 && (isStreamingRequest(kind) || cosi)) {
      route = { mode: 'one', target: route.targets[0] };
    }
    if (route.mode === 'many' && isStreamingRequest(kind)) {
      throw new TalosError(Code.InvalidArgument, `${path} takes a request stream and cannot go to several nodes at once; use "node"`);
    }
    if (route.mode === 'many' && cosi) {
      throw new TalosError(Code.InvalidArgument, `${path} cannot go to several nodes at once (its replies carry no per-node metadata); use "node"`);
    }
    return { path, caller, route, started: performance.now(), peer: call.peer };
  };

  /** Any kind of call to one destination: bytes and status pass through unchanged. */
  const proxyOne = (call: ServerCall, kind: MethodKind, state: CallState, target: string | undefined): void => {
    let backend: { channel: H2Channel; metadata: GrpcMetadata };
    try {
      backend = backendFor(target, state, call.metadata);
    } catch (err) {
      const e = TalosError.from(err);
      logCall(state, e.code);
      call.sendStatus(e.code, e.message);
      return;
    }
    const relay = new Relay(call, (code) => logCall(state, code), statusMapFor(target));
    const opts = call.deadline === undefined ? { metadata: backend.metadata, signal: call.signal } : { metadata: backend.metadata, signal: call.signal, deadline: call.deadline };
    const up = startUp(backend.channel, target, state.path, relay, opts);
    if (up === undefined) return;
    relay.up = up;
    if (isStreamingRequest(kind)) relay.pumpRequests();
    else {
      up.write(call.request);
      up.end();
    }
  };

  /** Every upstream call of a fan-out listens on the caller's signal: that many listeners are expected, not a leak. */
  const fanOutListeners = (call: ServerCall, targets: number): void => {
    if (targets > 8) setMaxListeners(targets + 8, call.signal);
  };

  /** A unary call to several nodes: one merged reply, a failed node as an error entry. */
  const unaryMany = (call: ServerCall, state: CallState, targets: readonly string[]): void => {
    fanOutListeners(call, targets.length);
    const items: Buffer[][] = new Array<Buffer[]>(targets.length);
    let pending = targets.length;
    const settle = (i: number, got: Buffer[]): void => {
      items[i] = got;
      if (--pending > 0) return;
      logCall(state, call.signal.aborted ? Code.Canceled : STATUS_OK);
      call.write(joinRepeated(items.flat()));
      call.end();
    };
    targets.forEach((target, i) => {
      let backend: { channel: H2Channel; metadata: GrpcMetadata };
      try {
        backend = backendFor(target, state, call.metadata);
      } catch (err) {
        settle(i, [errorMessage(target, errorText(err))]);
        return;
      }
      let reply: Buffer | undefined;
      const opts = call.deadline === undefined ? { metadata: backend.metadata, signal: call.signal } : { metadata: backend.metadata, signal: call.signal, deadline: call.deadline };
      const mapStatus = statusMapFor(target);
      const up = startUp(
        backend.channel,
        target,
        state.path,
        {
          onMessage: (m) => (reply = m),
          onStatus: (received) => {
            const s = mapStatus(received);
            if (s.code !== STATUS_OK || reply === undefined) {
              settle(i, [errorMessage(target, s.code !== STATUS_OK ? s.message : 'no reply')]);
              return;
            }
            try {
              settle(i, repeatedMessages(reply).map((m) => withHostname(m, target)));
            } catch (e) {
              settle(i, [errorMessage(target, `malformed reply: ${errorText(e)}`)]);
            }
          },
        },
        opts,
      );
      up?.write(call.request);
      up?.end();
    });
  };

  /** A server stream from several nodes: messages interleaved, each tagged with its node. */
  const streamMany = (call: ServerCall, state: CallState, targets: readonly string[]): void => {
    fanOutListeners(call, targets.length);
    const ups: ClientCall[] = [];
    let paused = false;
    const pauseAll = (): void => {
      if (paused) return;
      paused = true;
      for (const u of ups) u.pause();
      call.onDrain(() => {
        paused = false;
        for (const u of ups) u.resume();
      });
    };
    let pending = targets.length;
    const doneOne = (target: string, error: string | undefined): void => {
      if (error !== undefined) call.write(errorMessage(target, error));
      if (--pending > 0) return;
      logCall(state, call.signal.aborted ? Code.Canceled : STATUS_OK);
      call.end();
    };
    for (const target of targets) {
      let backend: { channel: H2Channel; metadata: GrpcMetadata };
      try {
        backend = backendFor(target, state, call.metadata);
      } catch (err) {
        doneOne(target, errorText(err));
        continue;
      }
      const opts = call.deadline === undefined ? { metadata: backend.metadata, signal: call.signal } : { metadata: backend.metadata, signal: call.signal, deadline: call.deadline };
      const mapStatus = statusMapFor(target);
      const up = startUp(
        backend.channel,
        target,
        state.path,
        {
          onMessage: (m) => {
            if (!call.write(withHostname(m, target))) pauseAll();
          },
          onStatus: (received) => {
            const s = mapStatus(received);
            doneOne(target, s.code === STATUS_OK ? undefined : s.message);
          },
        },
        opts,
      );
      if (up === undefined) continue;
      ups.push(up);
      if (paused) up.pause();
      up.write(call.request);
      up.end();
    }
  };

  // Calls are admitted on their headers (before any request byte is read); the handler picks
  // up what admission decided.
  const admitted = new WeakMap<ServerCall, CallState>();
  const admit = (call: ServerCall): void => {
    try {
      admitted.set(call, begin(call));
    } catch (err) {
      log.info('call refused', { method: call.path, peer: call.peer, error: TalosError.from(err).message });
      throw err;
    }
  };

  const handler = (kind: MethodKind) => (call: ServerCall): void => {
    const state = admitted.get(call);
    if (state === undefined) throw new TalosError(Code.Internal, `${call.path} reached its handler without admission`);
    const route = state.route;
    if (route.mode === 'one') proxyOne(call, kind, state, route.target);
    else if (kind === 'unary') unaryMany(call, state, route.targets);
    else streamMany(call, state, route.targets);
  };

  const serverTls = (ca: Buffer, crt: Buffer, key: Buffer): H2ServerTls => ({ caPem: ca, certPem: crt, keyPem: key, requireClientCert: true });

  const setClientMaterial = (files: FileContents): void => {
    const ca = files[ApidCertFiles.ca];
    const crt = files[ApidCertFiles.clientCrt];
    const key = files[ApidCertFiles.clientKey];
    clientMaterial = ca !== undefined && crt !== undefined && key !== undefined ? { caPem: ca, certPem: crt, keyPem: key } : undefined;
    // Calls in flight keep their connection; new ones dial with the new certificate.
    for (const e of remotes.values()) e.channel.drain();
    remotes.clear();
  };

  const onCertsChanged = (files: FileContents): void => {
    const ca = files[ApidCertFiles.ca];
    const crt = files[ApidCertFiles.serverCrt];
    const key = files[ApidCertFiles.serverKey];
    if (ca === undefined || crt === undefined || key === undefined) {
      log.warn('certificates incomplete; keeping the previous ones', { dir: options.certsDir });
      return;
    }
    try {
      // Validate first: a half-written or mismatched pair must not replace working material.
      createSecureContext({ minVersion: 'TLSv1.3', ca, cert: crt, key });
      server?.setSecureContext(serverTls(ca, crt, key));
    } catch (err) {
      log.warn('new server certificate unusable; keeping the previous one', { error: errorText(err) });
      return;
    }
    setClientMaterial(files);
    log.info('certificates reloaded', { dir: options.certsDir });
  };

  const close = async (graceMs = 2000): Promise<void> => {
    if (closed) return;
    closed = true;
    watcher?.[Symbol.dispose]();
    await server?.close(graceMs);
    if (sweeper !== undefined) clearInterval(sweeper);
    sweeper = undefined;
    for (const e of remotes.values()) e.channel.close();
    remotes.clear();
    local.close();
  };

  return {
    async listen(): Promise<string> {
      if (server !== undefined || closed) throw new TalosError(Code.FailedPrecondition, 'apid already started');
      const names = Object.values(ApidCertFiles);
      const w = watchFiles(options.certsDir, names, onCertsChanged, {
        ...(options.certPollMs === undefined ? {} : { pollMs: options.certPollMs }),
        onError: (err) => log.warn('reading certificates failed', { error: errorText(err) }),
      });
      watcher = w;
      const ca = w.initial[ApidCertFiles.ca];
      const crt = w.initial[ApidCertFiles.serverCrt];
      const key = w.initial[ApidCertFiles.serverKey];
      if (ca === undefined || crt === undefined || key === undefined) {
        w[Symbol.dispose]();
        throw new TalosError(Code.FailedPrecondition, `${options.certsDir} must hold ${ApidCertFiles.ca}, ${ApidCertFiles.serverCrt} and ${ApidCertFiles.serverKey}`);
      }
      setClientMaterial(w.initial);
      const s = createH2Server({ ...options.serverLimits, tls: serverTls(ca, crt, key), maxMessageBytes: MAX_MESSAGE_BYTES, admit, logger: log });
      const handlers = new Map<MethodKind, (call: ServerCall) => void>();
      for (const [path, kind] of Object.entries(proxiedMethods)) {
        let h = handlers.get(kind);
        if (h === undefined) {
          h = handler(kind);
          handlers.set(kind, h);
        }
        s.register(path, kind, h);
      }
      let address: string;
      try {
        address = await s.listen(options.listen);
      } catch (err) {
        w[Symbol.dispose]();
        throw err;
      }
      server = s;
      log.info('listening', { address, machinedSocket: options.machinedSocket, node: options.node, clientCertificate: clientMaterial !== undefined });
      return address;
    },
    close,
    get remoteChannels() {
      return remotes.size;
    },
    get connections() {
      return server?.connections ?? 0;
    },
    [Symbol.asyncDispose]: () => close(),
  };
}
