import { Client, Server, credentials, status } from '@grpc/grpc-js';
import type {
  CallOptions,
  ClientDuplexStream,
  ClientReadableStream,
  ClientWritableStream,
  Metadata,
  ServerDuplexStream,
  ServerReadableStream,
  ServerUnaryCall,
  ServerWritableStream,
  ServiceError,
  StatusObject,
  sendUnaryData,
} from '@grpc/grpc-js';
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { Code, TalosError, nullLogger } from '@talos-ts/cosi';
import type { Logger } from '@talos-ts/cosi';
import {
  ReloadableServerCredentials,
  cosiStatePb,
  inspectPb,
  isAllowed,
  machinePb,
  methodPath,
  rolesForMethod,
  shutdownServer,
  timePb,
  tlsChannel,
  watchFiles,
} from '@talos-ts/machinery';
import type { FileContents, TlsMaterial } from '@talos-ts/machinery';
import { authenticate, defaultNodeAddress, forwardMetadata, peerHost, routeOf } from './route.ts';
import type { Caller, Route } from './route.ts';
import { errorMessage, joinRepeated, repeatedMessages, withHostname } from './wire.ts';

/** The services apid proxies; every method of each is forwarded as raw bytes. */
export const proxiedServices: readonly DescService[] = [machinePb.MachineService, cosiStatePb.State, inspectPb.InspectService, timePb.TimeService];

/** File names apid reads from its certificates directory (see NODE-CONTRACT). */
export const ApidCertFiles = {
  ca: 'ca.crt',
  serverCrt: 'server.crt',
  serverKey: 'server.key',
  clientCrt: 'client.crt',
  clientKey: 'client.key',
} as const;

/** Upstream's port of apid on every node. */
export const APID_PORT = 50000;

/** Upstream's limit of a gRPC message through apid (32 MiB). */
const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

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
}

/** A running (or not yet started) apid. */
export interface Apid extends AsyncDisposable {
  /** Binds and starts serving; resolves to the bound `host:port`. */
  listen(): Promise<string>;
  /** Stops accepting calls, cancels the rest after a grace period, closes every channel. */
  close(graceMs?: number): Promise<void>;
}

const identity = (b: Buffer): Buffer => b;

type Kind = DescMethod['methodKind'];
type AnyServerCall =
  | ServerUnaryCall<Buffer, Buffer>
  | ServerWritableStream<Buffer, Buffer>
  | ServerReadableStream<Buffer, Buffer>
  | ServerDuplexStream<Buffer, Buffer>;
type Writable = ServerWritableStream<Buffer, Buffer> | ServerDuplexStream<Buffer, Buffer>;
type UpstreamReadable = ClientReadableStream<Buffer> | ClientDuplexStream<Buffer, Buffer>;

/** One destination of a forwarded call. */
interface Backend {
  /** The node as the caller named it (metadata.hostname in merged replies); '' for an unnamed local call. */
  readonly name: string;
  readonly client: Client;
  readonly metadata: Metadata;
}

/** What every call carries from the checks to its log line. */
interface CallState {
  readonly path: string;
  readonly caller: Caller;
  readonly route: Route;
  readonly started: number;
  readonly peer: string;
}

function grpcTypeOf(kind: Kind): 'unary' | 'serverStream' | 'clientStream' | 'bidi' {
  switch (kind) {
    case 'unary':
      return 'unary';
    case 'server_streaming':
      return 'serverStream';
    case 'client_streaming':
      return 'clientStream';
    case 'bidi_streaming':
      return 'bidi';
  }
}

function toStatus(err: unknown): Partial<StatusObject> {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'number' && !(err instanceof TalosError)) {
    const details = 'details' in err && typeof err.details === 'string' ? err.details : String(err);
    return { code: err.code as status, details };
  }
  const e = TalosError.from(err);
  return { code: e.code as number as status, details: e.message };
}

function errorText(err: unknown): string {
  return toStatus(err).details ?? String(err);
}

function callOptions(call: AnyServerCall): CallOptions {
  const d = call.getDeadline();
  if (d instanceof Date) return { deadline: d };
  return Number.isFinite(d) ? { deadline: d } : {};
}

function onCancel(call: AnyServerCall, fn: () => void): void {
  if (call.cancelled) fn();
  else (call as ServerUnaryCall<Buffer, Buffer>).once('cancelled', fn);
}

/**
 * Relays an upstream stream into the server call, transforming each message, honouring flow
 * control, and calling `done` once with the upstream's final outcome (null when OK).
 */
function relay(
  upstream: UpstreamReadable,
  call: Writable,
  transform: (b: Buffer) => Buffer,
  done: (err: ServiceError | null) => void,
  pauseAll: () => void,
): void {
  let finished = false;
  const finish = (err: ServiceError | null): void => {
    if (finished) return;
    finished = true;
    done(err);
  };
  // grpc-js reports the status as soon as it arrives, while messages may still sit in the paused
  // upstream's buffer: the relay is over only when the status is OK AND every message was read.
  let statusOk = false;
  let ended = false;
  upstream.on('data', (chunk: Buffer) => {
    if (call.cancelled) return;
    if (!call.write(transform(chunk))) pauseAll();
  });
  upstream.on('error', (err: ServiceError) => finish(err));
  upstream.on('status', (s: StatusObject) => {
    statusOk = s.code === status.OK;
    if (statusOk && ended) finish(null);
  });
  upstream.on('end', () => {
    ended = true;
    if (statusOk) finish(null);
  });
}

/** Creates apid; call `listen()` to start it. */
export function createApid(options: ApidOptions): Apid {
  const log = (options.logger ?? nullLogger).child({ component: 'apid' });
  const remotePort = options.remotePort ?? APID_PORT;
  const resolve = options.resolveNode ?? ((n: string) => defaultNodeAddress(n, remotePort));
  const channelOptions = { 'grpc.max_receive_message_length': MAX_MESSAGE_BYTES, 'grpc.max_send_message_length': MAX_MESSAGE_BYTES };
  const local = new Client(`unix:${options.machinedSocket}`, credentials.createInsecure(), channelOptions);
  const remotes = new Map<string, Client>();
  let clientMaterial: TlsMaterial | undefined;
  let serverCreds: ReloadableServerCredentials | undefined;
  let watcher: Disposable | undefined;
  let server: Server | undefined;
  let closed = false;

  const isSelf = (target: string | undefined): boolean =>
    target === undefined || target === options.node || target === options.listen || resolve(target) === resolve(options.node);

  const remoteClient = (target: string): Client => {
    const address = resolve(target);
    let c = remotes.get(address);
    if (c !== undefined) return c;
    if (clientMaterial === undefined) {
      throw new TalosError(Code.FailedPrecondition, `this node has no client certificate (${ApidCertFiles.clientCrt}) to reach node ${target}`);
    }
    const tls = tlsChannel(address, clientMaterial);
    c = new Client(address, tls.credentials, { ...channelOptions, ...tls.channelOptions });
    remotes.set(address, c);
    return c;
  };

  const backendFor = (target: string | undefined, state: CallState, md: Metadata): Backend => {
    if (isSelf(target)) return { name: target ?? '', client: local, metadata: forwardMetadata(md, state.caller.roles, undefined) };
    const t = target as string;
    return { name: t, client: remoteClient(t), metadata: forwardMetadata(md, state.caller.roles, peerHost(state.peer)) };
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
      code: status[code] ?? code,
    });
  };

  /** Authenticates, authorizes and routes a call; throws a TalosError the caller reports. */
  const begin = (call: AnyServerCall, method: DescMethod, peer: string, path: string): CallState => {
    const caller = authenticate(call.getAuthContext().sslPeerCertificate, call.metadata);
    if (!isAllowed(path, caller.roles)) {
      const have = caller.roles.size === 0 ? 'none' : [...caller.roles].join(', ');
      throw new TalosError(Code.PermissionDenied, `${path} requires one of the roles ${rolesForMethod(path).join(', ')}; the caller has ${have}`);
    }
    let route = routeOf(call.metadata);
    if (route.mode === 'many' && route.targets.length === 1 && (method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming' || method.parent.typeName === 'cosi.resource.State')) {
      route = { mode: 'one', target: route.targets[0] };
    }
    if (route.mode === 'many' && (method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming')) {
      throw new TalosError(Code.InvalidArgument, `${path} takes a request stream and cannot go to several nodes at once; use "node"`);
    }
    if (route.mode === 'many' && method.parent.typeName === 'cosi.resource.State') {
      throw new TalosError(Code.InvalidArgument, `${path} cannot go to several nodes at once (its replies carry no per-node metadata); use "node"`);
    }
    return { path, caller, route, started: performance.now(), peer };
  };

  const unaryHandler = (method: DescMethod, path: string) => (call: ServerUnaryCall<Buffer, Buffer>, cb: sendUnaryData<Buffer>) => {
    const peer = call.getPeer();
    let state: CallState;
    try {
      state = begin(call, method, peer, path);
    } catch (err) {
      log.info('call refused', { method: path, peer, error: errorText(err) });
      cb(toStatus(err));
      return;
    }
    const route = state.route;
    const opts = callOptions(call);
    if (route.mode === 'one') {
      let backend: Backend;
      try {
        backend = backendFor(route.target, state, call.metadata);
      } catch (err) {
        logCall(state, toStatus(err).code ?? status.UNKNOWN);
        cb(toStatus(err));
        return;
      }
      const up = backend.client.makeUnaryRequest(path, identity, identity, call.request, backend.metadata, opts, (err, res) => {
        logCall(state, err ? err.code : status.OK);
        if (err) cb(toStatus(err));
        else cb(null, res);
      });
      onCancel(call, () => up.cancel());
      return;
    }
    const ups: { cancel(): void }[] = [];
    const one = (target: string): Promise<Buffer[]> =>
      new Promise((resolveItems) => {
        let backend: Backend;
        try {
          backend = backendFor(target, state, call.metadata);
        } catch (err) {
          resolveItems([errorMessage(target, errorText(err))]);
          return;
        }
        ups.push(
          backend.client.makeUnaryRequest(path, identity, identity, call.request, backend.metadata, opts, (err, res) => {
            if (err || res === undefined) {
              resolveItems([errorMessage(target, errorText(err))]);
              return;
            }
            try {
              resolveItems(repeatedMessages(res).map((m) => withHostname(m, target)));
            } catch (e) {
              resolveItems([errorMessage(target, `malformed reply: ${errorText(e)}`)]);
            }
          }),
        );
      });
    onCancel(call, () => ups.forEach((u) => u.cancel()));
    void Promise.all(route.targets.map(one)).then((items) => {
      logCall(state, status.OK);
      cb(null, joinRepeated(items.flat()));
    });
  };

  const serverStreamHandler = (method: DescMethod, path: string) => (call: ServerWritableStream<Buffer, Buffer>) => {
    const peer = call.getPeer();
    let state: CallState;
    try {
      state = begin(call, method, peer, path);
    } catch (err) {
      log.info('call refused', { method: path, peer, error: errorText(err) });
      call.emit('error', toStatus(err));
      return;
    }
    const route = state.route;
    const opts = callOptions(call);
    const ups: UpstreamReadable[] = [];
    let paused = false;
    const pauseAll = (): void => {
      if (paused) return;
      paused = true;
      ups.forEach((u) => u.pause());
      call.once('drain', () => {
        paused = false;
        ups.forEach((u) => u.resume());
      });
    };
    onCancel(call, () => ups.forEach((u) => u.cancel()));
    if (route.mode === 'one') {
      let backend: Backend;
      try {
        backend = backendFor(route.target, state, call.metadata);
      } catch (err) {
        logCall(state, toStatus(err).code ?? status.UNKNOWN);
        call.emit('error', toStatus(err));
        return;
      }
      const up = backend.client.makeServerStreamRequest(path, identity, identity, call.request, backend.metadata, opts);
      ups.push(up);
      relay(up, call, identity, (err) => {
        logCall(state, err ? err.code : status.OK);
        if (call.cancelled) return;
        if (err) call.emit('error', toStatus(err));
        else call.end();
      }, pauseAll);
      return;
    }
    let pending = route.targets.length;
    const doneOne = (target: string, err: unknown): void => {
      if (err !== null && !call.cancelled) call.write(errorMessage(target, errorText(err)));
      if (--pending > 0) return;
      logCall(state, call.cancelled ? status.CANCELLED : status.OK);
      if (!call.cancelled) call.end();
    };
    for (const target of route.targets) {
      let backend: Backend;
      try {
        backend = backendFor(target, state, call.metadata);
      } catch (err) {
        doneOne(target, err);
        continue;
      }
      const up = backend.client.makeServerStreamRequest(path, identity, identity, call.request, backend.metadata, opts);
      ups.push(up);
      relay(up, call, (b) => withHostname(b, target), (err) => doneOne(target, err), pauseAll);
    }
  };

  const clientStreamHandler = (method: DescMethod, path: string) => (call: ServerReadableStream<Buffer, Buffer> | ServerDuplexStream<Buffer, Buffer>, cb?: sendUnaryData<Buffer>) => {
    const peer = call.getPeer();
    const fail = (err: unknown): void => {
      if (cb) cb(toStatus(err));
      else call.emit('error', toStatus(err));
    };
    let state: CallState;
    let backend: Backend;
    try {
      state = begin(call, method, peer, path);
      backend = backendFor(state.route.mode === 'one' ? state.route.target : undefined, state, call.metadata);
    } catch (err) {
      log.info('call refused', { method: path, peer, error: errorText(err) });
      fail(err);
      return;
    }
    const opts = callOptions(call);
    let up: ClientDuplexStream<Buffer, Buffer> | ClientWritableStream<Buffer>;
    if (cb) {
      up = backend.client.makeClientStreamRequest(path, identity, identity, backend.metadata, opts, (err, res) => {
        logCall(state, err ? err.code : status.OK);
        if (err) cb(toStatus(err));
        else cb(null, res);
      });
    } else {
      const duplex = call as ServerDuplexStream<Buffer, Buffer>;
      const bidi = backend.client.makeBidiStreamRequest(path, identity, identity, backend.metadata, opts);
      up = bidi;
      relay(bidi, duplex, identity, (err) => {
        logCall(state, err ? err.code : status.OK);
        if (duplex.cancelled) return;
        if (err) duplex.emit('error', toStatus(err));
        else duplex.end();
      }, () => {
        bidi.pause();
        duplex.once('drain', () => bidi.resume());
      });
    }
    const upstream = up;
    onCancel(call, () => upstream.cancel());
    call.on('data', (chunk: Buffer) => {
      if (!upstream.write(chunk)) {
        call.pause();
        upstream.once('drain', () => call.resume());
      }
    });
    call.on('end', () => upstream.end());
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
      serverCreds?.update({ caPem: ca, certPem: crt, keyPem: key });
    } catch (err) {
      log.warn('new server certificate unusable; keeping the previous one', { error: errorText(err) });
      return;
    }
    setClientMaterial(files);
    log.info('certificates reloaded', { dir: options.certsDir });
  };

  const setClientMaterial = (files: FileContents): void => {
    const ca = files[ApidCertFiles.ca];
    const crt = files[ApidCertFiles.clientCrt];
    const key = files[ApidCertFiles.clientKey];
    clientMaterial = ca !== undefined && crt !== undefined && key !== undefined ? { caPem: ca, certPem: crt, keyPem: key } : undefined;
    // Calls in flight keep their channel; new ones dial with the new certificate.
    for (const c of remotes.values()) c.close();
    remotes.clear();
  };

  const close = async (graceMs = 2000): Promise<void> => {
    if (closed) return;
    closed = true;
    watcher?.[Symbol.dispose]();
    const s = server;
    if (s !== undefined) {
      await shutdownServer(s, graceMs);
    }
    for (const c of remotes.values()) c.close();
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
      serverCreds = new ReloadableServerCredentials({ caPem: ca, certPem: crt, keyPem: key }, { requireClientCert: true });
      setClientMaterial(w.initial);
      const s = new Server(channelOptions);
      for (const svc of proxiedServices) {
        for (const m of svc.methods) {
          const path = methodPath(m);
          const handler =
            m.methodKind === 'unary'
              ? unaryHandler(m, path)
              : m.methodKind === 'server_streaming'
                ? serverStreamHandler(m, path)
                : clientStreamHandler(m, path);
          s.register(path, handler as never, identity, identity, grpcTypeOf(m.methodKind));
        }
      }
      const port = await new Promise<number>((ok, fail) => s.bindAsync(options.listen, serverCreds as ReloadableServerCredentials, (err, p) => (err ? fail(err) : ok(p))));
      server = s;
      const host = options.listen.slice(0, options.listen.lastIndexOf(':'));
      const address = `${host}:${port}`;
      log.info('listening', { address, machinedSocket: options.machinedSocket, node: options.node, clientCertificate: clientMaterial !== undefined });
      return address;
    },
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
