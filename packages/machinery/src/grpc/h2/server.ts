import { constants as h2, createSecureServer, createServer } from 'node:http2';
import type { Http2SecureServer, Http2Server, Http2Session, IncomingHttpHeaders, OutgoingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import type { Socket } from 'node:net';
import type { PeerCertificate, SecureContextOptions, TLSSocket } from 'node:tls';
import { Code, TalosError, nullLogger } from '@talos-ts/cosi';
import type { Logger } from '@talos-ts/cosi';
import { DEFAULT_MAX_MESSAGE_BYTES, MessageReader, STATUS_OK, encodeGrpcMessage, frameMessage, metadataFromRawHeaders, parseTimeout, putMetadata } from './wire.ts';
import type { GrpcMetadata, MethodKind } from './wire.ts';

/** PEM material of a TLS server. */
export interface H2ServerTls {
  readonly certPem: Buffer | string;
  readonly keyPem: Buffer | string;
  /** CA(s) client certificates must chain to; required when `requireClientCert` is set. */
  readonly caPem?: Buffer | string;
  /** Ask for a client certificate and fail the handshake without a valid one. */
  readonly requireClientCert?: boolean;
}

/**
 * Default limits of every server: what one peer, authenticated or not, can hold. A program
 * with other needs overrides them in {@link H2ServerOptions}.
 */
export const H2ServerDefaults = {
  /**
   * Streams one connection may have open (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). A client
   * that honours the setting queues the rest; 100 is the floor RFC 9113 recommends.
   */
  maxConcurrentStreams: 100,
  /** Open connections (in any state); more are closed as soon as they arrive. */
  maxConnections: 1000,
  /** Time from accept to the client's HTTP/2 SETTINGS, TLS handshake included (Node's own default is 120 s). */
  handshakeTimeoutMs: 10_000,
  /** A connection with no call in progress for this long is closed (GOAWAY); 0 keeps it. */
  idleTimeoutMs: 5 * 60_000,
} as const;

/** Options of {@link createH2Server}. */
export interface H2ServerOptions {
  /** Serve TLS 1.3 with this material; plaintext (h2c) when absent. */
  readonly tls?: H2ServerTls;
  /** Largest request message accepted; bigger ones end the call with RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes?: number;
  /** Streams per connection; defaults to {@link H2ServerDefaults}.maxConcurrentStreams. */
  readonly maxConcurrentStreams?: number;
  /** Connections at once; defaults to {@link H2ServerDefaults}.maxConnections. */
  readonly maxConnections?: number;
  /** Accept-to-SETTINGS budget; defaults to {@link H2ServerDefaults}.handshakeTimeoutMs. */
  readonly handshakeTimeoutMs?: number;
  /** Idle connection lifetime, 0 for none; defaults to {@link H2ServerDefaults}.idleTimeoutMs. */
  readonly idleTimeoutMs?: number;
  /**
   * Runs on a call's headers, before any request byte is read: a throw refuses the call with
   * that error and resets the stream, so the body of a refused call is never buffered.
   */
  readonly admit?: (call: ServerCall) => void;
  readonly logger?: Logger;
}

/** One incoming call, whatever its kind; the handler answers through it. */
export interface ServerCall {
  /** `/package.Service/Method`. */
  readonly path: string;
  readonly kind: MethodKind;
  /** Request metadata (transport headers removed). */
  readonly metadata: GrpcMetadata;
  /** `host:port` of the client, or `unix` for a unix socket. */
  readonly peer: string;
  /** The verified client certificate (TLS with client auth), computed once per connection. */
  readonly peerCertificate: PeerCertificate | undefined;
  /** The HTTP/2 session the call came on: a key for facts that cannot change within it. */
  readonly session: object;
  /** Absolute deadline (Date.now() scale) from grpc-timeout, or undefined. */
  readonly deadline: number | undefined;
  /** Fires when the client cancels, the connection drops, the deadline passes or the server closes. */
  readonly signal: AbortSignal;
  /** The request of a unary or server-streaming call (empty for the streaming-request kinds). */
  readonly request: Buffer;
  /** Whether a status was sent or the call was cancelled. */
  readonly finished: boolean;
  /**
   * Receives the request messages of a client-streaming or bidi call; `onEnd` runs once when
   * the client half-closes (not when the call is cancelled: watch `signal` for that).
   */
  onMessage(onMessage: (message: Buffer) => void, onEnd: () => void): void;
  /** The request messages as an async iterable (client-streaming and bidi calls). */
  messages(): AsyncIterable<Buffer>;
  /** Stops reading request messages (HTTP/2 flow control pushes back on the client). */
  pause(): void;
  resume(): void;
  /** Sends the response headers now (otherwise they go with the first message or the status). */
  sendMetadata(metadata?: GrpcMetadata): void;
  /** Sends one response message; false means wait for `onDrain` before writing more. */
  write(message: Uint8Array): boolean;
  /** Calls `fn` once when the response side can take more. */
  onDrain(fn: () => void): void;
  /** Ends the call with OK. */
  end(trailers?: GrpcMetadata): void;
  /** Ends the call with a status (`code` 0 is OK). */
  sendStatus(code: number, message: string, trailers?: GrpcMetadata): void;
  /** Ends the call with the status of an error (TalosError codes as they are, others UNKNOWN). */
  fail(err: unknown): void;
}

/** A method handler; a throw or rejection before the call ended ends it with that error. */
export type ServerHandler = (call: ServerCall) => void | Promise<void>;

/** A gRPC server on node:http2. */
export interface H2Server extends AsyncDisposable {
  /** Registers the handler of a path (`/package.Service/Method`). */
  register(path: string, kind: MethodKind, handler: ServerHandler): void;
  /** Binds `host:port` (port 0 picks one) or `unix:PATH`; resolves to the bound address. */
  listen(address: string): Promise<string>;
  /** Replaces the TLS material for new connections; established ones keep theirs. */
  setSecureContext(tls: H2ServerTls): void;
  /** Stops accepting, lets calls finish for `graceMs`, then cancels the rest. */
  close(graceMs?: number): Promise<void>;
  /** Calls in progress. */
  readonly activeCalls: number;
  /** Open connections, handshaking ones included. */
  readonly connections: number;
}

interface Route {
  readonly kind: MethodKind;
  readonly handler: ServerHandler;
}

interface SessionInfo {
  readonly peer: string;
  readonly cert: PeerCertificate | undefined;
}

/** Secure context options for TLS 1.3 only. */
function secureOptions(tls: H2ServerTls): SecureContextOptions {
  return { minVersion: 'TLSv1.3', cert: tls.certPem, key: tls.keyPem, ...(tls.caPem === undefined ? {} : { ca: tls.caPem }) };
}

function formatPeer(address: string | undefined, port: number | undefined): string {
  if (address === undefined) return 'unix';
  return address.includes(':') ? `[${address}]:${port ?? 0}` : `${address}:${port ?? 0}`;
}

const sessionInfo = new WeakMap<Http2Session, SessionInfo>();

function infoOf(session: Http2Session): SessionInfo {
  let info = sessionInfo.get(session);
  if (info !== undefined) return info;
  const socket = session.socket as TLSSocket;
  let cert: PeerCertificate | undefined;
  if (typeof socket.getPeerCertificate === 'function') {
    const c = socket.getPeerCertificate();
    cert = c !== null && c !== undefined && Object.keys(c).length > 0 ? c : undefined;
  }
  info = { peer: formatPeer(socket.remoteAddress, socket.remotePort), cert };
  sessionInfo.set(session, info);
  return info;
}

const noMessage = Buffer.alloc(0);

/** How early a client's reset may come and still count as its deadline passing. */
const DEADLINE_SLACK_MS = 25;
const callFinished = new TalosError(Code.Canceled, 'call finished');

class Call implements ServerCall {
  readonly path: string;
  readonly kind: MethodKind;
  readonly metadata: GrpcMetadata;
  readonly deadline: number | undefined;
  request: Buffer = noMessage;
  finished = false;
  readonly #stream: ServerHttp2Stream;
  readonly #server: ServerImpl;
  #headersSent = false;
  #trailers: OutgoingHttpHeaders | undefined;
  #ac: AbortController | undefined;
  #abortReason: TalosError | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reader: MessageReader;

  constructor(server: ServerImpl, stream: ServerHttp2Stream, path: string, kind: MethodKind, metadata: GrpcMetadata, timeoutMs: number | undefined) {
    this.#server = server;
    this.#stream = stream;
    this.path = path;
    this.kind = kind;
    this.metadata = metadata;
    this.#reader = new MessageReader(server.maxMessageBytes);
    if (timeoutMs !== undefined) {
      this.deadline = Date.now() + timeoutMs;
      this.#timer = setTimeout(() => this.#expire(), timeoutMs);
    } else this.deadline = undefined;
  }

  get peer(): string {
    return infoOf(this.#stream.session as Http2Session).peer;
  }

  get peerCertificate(): PeerCertificate | undefined {
    return infoOf(this.#stream.session as Http2Session).cert;
  }

  get session(): object {
    return this.#stream.session as Http2Session;
  }

  get signal(): AbortSignal {
    // Most calls never look at the signal: make the controller only when asked.
    if (this.#ac === undefined) {
      this.#ac = new AbortController();
      if (this.#abortReason !== undefined) this.#ac.abort(this.#abortReason);
    }
    return this.#ac.signal;
  }

  /** Reads the single request of a unary or server-streaming call, then runs the handler. */
  readUnary(route: Route): void {
    let got: Buffer | undefined;
    let count = 0;
    const stream = this.#stream;
    stream.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      try {
        this.#reader.push(chunk, (m) => {
          count++;
          got = m;
        });
      } catch (err) {
        this.fail(err);
      }
    });
    stream.once('end', () => {
      if (this.finished) return;
      if (this.#reader.partial) this.sendStatus(Code.Internal, 'request ended inside a message');
      else if (count !== 1) this.sendStatus(Code.Internal, count === 0 ? 'no request message' : 'more than one request message');
      else {
        this.request = got as Buffer;
        this.run(route);
      }
    });
  }

  run(route: Route): void {
    try {
      const r = route.handler(this);
      if (r !== undefined) r.catch((err: unknown) => this.#handlerFailed(err));
    } catch (err) {
      this.#handlerFailed(err);
    }
  }

  #handlerFailed(err: unknown): void {
    if (!this.finished) this.fail(err);
    else if (!this.cancelled) this.#server.log.warn('handler failed after the call ended', { method: this.path, error: err instanceof Error ? err.message : String(err) });
  }

  get cancelled(): boolean {
    return this.#abortReason !== undefined;
  }

  onMessage(onMessage: (message: Buffer) => void, onEnd: () => void): void {
    const stream = this.#stream;
    stream.on('data', (chunk: Buffer) => {
      if (this.finished) return;
      try {
        this.#reader.push(chunk, onMessage);
      } catch (err) {
        this.fail(err);
      }
    });
    stream.once('end', () => {
      if (this.finished) return;
      if (this.#reader.partial) this.sendStatus(Code.Internal, 'request ended inside a message');
      else onEnd();
    });
  }

  messages(): AsyncIterable<Buffer> {
    const queue: Buffer[] = [];
    let ended = false;
    let wake: (() => void) | undefined;
    const kick = (): void => {
      const w = wake;
      wake = undefined;
      w?.();
    };
    this.onMessage(
      (m) => {
        queue.push(m);
        if (queue.length >= 16) this.pause();
        kick();
      },
      () => {
        ended = true;
        kick();
      },
    );
    const signal = this.signal;
    signal.addEventListener('abort', kick, { once: true });
    const resume = (): void => this.resume();
    return {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const m = queue.shift();
          if (m !== undefined) {
            if (queue.length < 4) resume();
            yield m;
            continue;
          }
          if (ended) return;
          if (signal.aborted) throw signal.reason;
          await new Promise<void>((r) => (wake = r));
        }
      },
    };
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  sendMetadata(metadata?: GrpcMetadata): void {
    if (this.#headersSent || this.finished) return;
    this.#headersSent = true;
    const headers: OutgoingHttpHeaders = { ':status': 200, 'content-type': 'application/grpc' };
    putMetadata(headers as Record<string, string | string[] | number>, metadata);
    const stream = this.#stream;
    stream.respond(headers, { waitForTrailers: true });
    stream.once('wantTrailers', () => {
      const t = this.#trailers ?? { 'grpc-status': String(Code.Internal), 'grpc-message': 'call ended without a status' };
      try {
        stream.sendTrailers(t);
        stopReading(stream);
      } catch {
        // The stream was reset while the trailers were pending: nothing left to tell.
      }
    });
  }

  write(message: Uint8Array): boolean {
    if (this.finished || this.#stream.destroyed) return false;
    if (!this.#headersSent) this.sendMetadata();
    return this.#stream.write(frameMessage(message));
  }

  onDrain(fn: () => void): void {
    this.#stream.once('drain', fn);
  }

  end(trailers?: GrpcMetadata): void {
    this.sendStatus(STATUS_OK, '', trailers);
  }

  fail(err: unknown): void {
    const e = TalosError.from(err);
    this.sendStatus(e.code, e.message);
  }

  sendStatus(code: number, message: string, trailers?: GrpcMetadata): void {
    if (this.finished) return;
    this.#finish();
    const stream = this.#stream;
    if (stream.destroyed || stream.closed) return;
    const status: OutgoingHttpHeaders = { 'grpc-status': String(code) };
    if (message !== '') status['grpc-message'] = encodeGrpcMessage(message);
    putMetadata(status as Record<string, string | string[] | number>, trailers);
    if (!this.#headersSent) {
      // Trailers-only: the status travels in the one and only HEADERS frame.
      this.#headersSent = true;
      stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...status }, { endStream: true });
      stopReading(stream);
      return;
    }
    this.#trailers = status;
    stream.end();
  }

  /** The client went away (RST_STREAM, connection loss) or the server is closing. */
  abort(reason: TalosError): void {
    if (this.#abortReason !== undefined) return;
    this.#abortReason = reason;
    const wasFinished = this.finished;
    this.#finish();
    this.#ac?.abort(reason);
    if (!wasFinished && !this.#stream.destroyed) this.#stream.close(h2.NGHTTP2_CANCEL);
  }

  #expire(): void {
    this.#timer = undefined;
    if (this.finished) return;
    const reason = new TalosError(Code.DeadlineExceeded, 'deadline exceeded');
    this.sendStatus(reason.code, reason.message);
    this.#abortReason = reason;
    this.#ac?.abort(reason);
  }

  #finish(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    this.#server.calls.delete(this);
  }

  /** The stream closed: anything not yet ended was cancelled by the client. */
  closed(): void {
    if (this.#abortReason === undefined && !this.finished) {
      // A client gives up at its own deadline, which runs slightly ahead of ours (it started
      // counting before the request reached us): a reset that close to the deadline is its expiry.
      const expired = this.deadline !== undefined && Date.now() >= this.deadline - DEADLINE_SLACK_MS;
      this.abort(expired ? new TalosError(Code.DeadlineExceeded, 'deadline exceeded') : new TalosError(Code.Canceled, 'call cancelled by the client'));
    }
    else if (this.#abortReason === undefined) {
      // Ended normally: let anyone holding the signal release resources tied to it. One shared
      // reason: an Error per call (stack capture) is measurable at this rate.
      this.#abortReason = callFinished;
      this.#ac?.abort(callFinished);
    }
  }
}

function trailersOnly(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(code), 'grpc-message': encodeGrpcMessage(message) }, { endStream: true });
  stopReading(stream);
}

/**
 * After the status went out, a client still sending is told to stop (RST_STREAM NO_ERROR, as
 * gRPC servers do): the rest of its request is dropped by HTTP/2 instead of being buffered.
 */
function stopReading(stream: ServerHttp2Stream): void {
  if (!stream.readableEnded && !stream.destroyed) stream.close(h2.NGHTTP2_NO_ERROR);
}

class ServerImpl implements H2Server {
  readonly log: Logger;
  readonly maxMessageBytes: number;
  readonly calls = new Set<Call>();
  readonly #admit: ((call: ServerCall) => void) | undefined;
  readonly #maxConnections: number;
  readonly #handshakeTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  // Open streams per session, for the idle timer.
  readonly #open = new WeakMap<Http2Session, number>();
  readonly #idleTimers = new WeakMap<Http2Session, NodeJS.Timeout>();
  readonly #routes = new Map<string, Route>();
  readonly #server: Http2Server | Http2SecureServer;
  readonly #sessions = new Set<Http2Session>();
  // Raw connections too: one still in its TLS handshake has no session yet, and would hold
  // server.close() open until the handshake timeout.
  readonly #sockets = new Set<Socket>();
  #closing: Promise<void> | undefined;
  #listening = false;

  constructor(options: H2ServerOptions) {
    this.log = (options.logger ?? nullLogger).child({ component: 'grpc-h2' });
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    this.#admit = options.admit;
    this.#maxConnections = options.maxConnections ?? H2ServerDefaults.maxConnections;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? H2ServerDefaults.handshakeTimeoutMs;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? H2ServerDefaults.idleTimeoutMs;
    const settings = { maxConcurrentStreams: options.maxConcurrentStreams ?? H2ServerDefaults.maxConcurrentStreams };
    const tls = options.tls;
    this.#server =
      tls === undefined
        ? createServer({ settings })
        : createSecureServer({
            ...secureOptions(tls),
            requestCert: tls.requireClientCert === true,
            rejectUnauthorized: tls.requireClientCert === true,
            allowHTTP1: false,
            settings,
            handshakeTimeout: this.#handshakeTimeoutMs,
          });
    this.#server.on('connection', (socket: Socket) => {
      if (this.#sockets.size >= this.#maxConnections) {
        // Over the cap: no TLS, no session, nothing kept for this peer.
        socket.destroy();
        return;
      }
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('session', (s: Http2Session) => this.#onSession(s));
    this.#server.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, _flags: number, raw?: string[]) => this.#onStream(stream, headers, raw));
    this.#server.on('sessionError', () => {});
    this.#server.on('tlsClientError', () => {});
  }

  get activeCalls(): number {
    return this.calls.size;
  }

  /** Open connections (accepted sockets not yet closed, handshaking ones included). */
  get connections(): number {
    return this.#sockets.size;
  }

  #onSession(s: Http2Session): void {
    this.#sessions.add(s);
    s.on('error', () => {});
    // The TLS handshake has its own timer (the server's handshakeTimeout); the HTTP/2 preface
    // and SETTINGS must follow within the same budget, or the connection goes.
    const handshake = setTimeout(() => {
      this.log.debug('connection closed: no HTTP/2 settings in time', { peer: formatPeer(s.socket?.remoteAddress, s.socket?.remotePort) });
      s.destroy();
    }, this.#handshakeTimeoutMs);
    handshake.unref();
    s.once('remoteSettings', () => clearTimeout(handshake));
    this.#open.set(s, 0);
    this.#armIdle(s);
    s.once('close', () => {
      clearTimeout(handshake);
      clearTimeout(this.#idleTimers.get(s));
      this.#sessions.delete(s);
    });
  }

  /** Starts the idle timer of a session that has no stream open. */
  #armIdle(s: Http2Session): void {
    if (this.#idleTimeoutMs <= 0 || s.closed || s.destroyed) return;
    const timer = setTimeout(() => {
      if ((this.#open.get(s) ?? 0) === 0 && !s.closed) s.close();
    }, this.#idleTimeoutMs);
    timer.unref();
    this.#idleTimers.set(s, timer);
  }

  #streamOpened(stream: ServerHttp2Stream): void {
    const s = stream.session;
    if (s === undefined) return;
    const n = this.#open.get(s) ?? 0;
    this.#open.set(s, n + 1);
    if (n === 0) clearTimeout(this.#idleTimers.get(s));
    stream.once('close', () => {
      const left = (this.#open.get(s) ?? 1) - 1;
      this.#open.set(s, left);
      if (left === 0) this.#armIdle(s);
    });
  }

  register(path: string, kind: MethodKind, handler: ServerHandler): void {
    if (this.#routes.has(path)) throw new TalosError(Code.AlreadyExists, `a handler for ${path} is already registered`);
    this.#routes.set(path, { kind, handler });
  }

  #onStream(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, raw: string[] | undefined): void {
    stream.on('error', () => {});
    this.#streamOpened(stream);
    const path = headers[':path'] ?? '';
    const ct = headers['content-type'];
    if (headers[':method'] !== 'POST' || ct === undefined || !ct.startsWith('application/grpc')) {
      if (!stream.destroyed) stream.respond({ ':status': 415 }, { endStream: true });
      stopReading(stream);
      return;
    }
    if (this.#closing !== undefined) {
      trailersOnly(stream, Code.Unavailable, 'server is shutting down');
      return;
    }
    const route = this.#routes.get(path);
    if (route === undefined) {
      trailersOnly(stream, Code.Unimplemented, `unknown method ${path}`);
      return;
    }
    const enc = headers['grpc-encoding'];
    if (enc !== undefined && enc !== 'identity') {
      trailersOnly(stream, Code.Unimplemented, `message encoding ${String(enc)} is not supported`);
      return;
    }
    let timeoutMs: number | undefined;
    const t = headers['grpc-timeout'];
    if (typeof t === 'string') {
      timeoutMs = parseTimeout(t);
      if (timeoutMs === undefined) {
        trailersOnly(stream, Code.Internal, `malformed grpc-timeout ${t}`);
        return;
      }
    }
    const md = raw !== undefined ? metadataFromRawHeaders(raw) : metadataFromRawHeaders(flatten(headers));
    const call = new Call(this, stream, path, route.kind, md, timeoutMs);
    this.calls.add(call);
    stream.once('close', () => call.closed());
    if (this.#admit !== undefined) {
      try {
        this.#admit(call);
      } catch (err) {
        call.fail(err);
        return;
      }
    }
    if (route.kind === 'unary' || route.kind === 'server_streaming') call.readUnary(route);
    else call.run(route);
  }

  listen(address: string): Promise<string> {
    if (this.#listening || this.#closing !== undefined) return Promise.reject(new TalosError(Code.FailedPrecondition, 'server already listening or closed'));
    this.#listening = true;
    return new Promise<string>((resolve, reject) => {
      const server = this.#server;
      const onError = (err: Error): void => {
        this.#listening = false;
        reject(new TalosError(Code.Unavailable, `cannot listen on ${address}: ${err.message}`, { cause: err }));
      };
      server.once('error', onError);
      const done = (bound: string): void => {
        server.off('error', onError);
        server.on('error', (err) => this.log.warn('server error', { error: err.message }));
        resolve(bound);
      };
      if (address.startsWith('unix:')) {
        const path = address.slice('unix:'.length);
        server.listen({ path }, () => done(address));
        return;
      }
      const colon = address.lastIndexOf(':');
      if (colon < 0) {
        onError(new Error('address must be host:port or unix:PATH'));
        return;
      }
      const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1');
      server.listen({ host, port: Number(address.slice(colon + 1)) }, () => {
        const a = server.address();
        const port = typeof a === 'object' && a !== null ? a.port : 0;
        done(`${address.slice(0, colon)}:${port}`);
      });
    });
  }

  setSecureContext(tls: H2ServerTls): void {
    const s = this.#server as Http2SecureServer;
    if (typeof s.setSecureContext !== 'function') throw new TalosError(Code.FailedPrecondition, 'this server was created without TLS');
    s.setSecureContext(secureOptions(tls));
  }

  close(graceMs = 2000): Promise<void> {
    if (this.#closing !== undefined) return this.#closing;
    this.#closing = (async () => {
      const server = this.#server;
      const stopped = this.#listening ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
      // GOAWAY: clients open no new streams here; streams in flight go on.
      for (const s of this.#sessions) if (!s.closed && !s.destroyed) s.close();
      if (this.calls.size > 0 && graceMs > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, graceMs);
          const poll = setInterval(() => {
            if (this.calls.size === 0) {
              clearTimeout(timer);
              clearInterval(poll);
              resolve();
            }
          }, 10);
          timer.unref();
          setTimeout(() => clearInterval(poll), graceMs + 10).unref();
        });
      }
      const reason = new TalosError(Code.Unavailable, 'server is shutting down');
      for (const c of [...this.calls]) c.abort(reason);
      // A call counts as finished once its status is handed to HTTP/2, which may still be
      // flushing it: after GOAWAY a session closes by itself when its last stream is done, so
      // wait for that (briefly) before cutting what is left.
      if (graceMs > 0) await this.#sessionsClosed(Math.min(graceMs, 1000));
      for (const s of this.#sessions) s.destroy();
      for (const socket of this.#sockets) socket.destroy();
      await stopped;
    })();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close(0);
  }

  #sessionsClosed(timeoutMs: number): Promise<void> {
    const open = [...this.#sessions].filter((s) => !s.destroyed);
    if (open.length === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      let left = open.length;
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      for (const s of open) {
        s.once('close', () => {
          if (--left > 0) return;
          clearTimeout(timer);
          resolve();
        });
      }
    });
  }
}

function flatten(headers: IncomingHttpHeaders): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.push(k, one);
    else out.push(k, String(v));
  }
  return out;
}

/** Creates a gRPC server on node:http2 (raw message bytes, no protobuf); `listen()` starts it. */
export function createH2Server(options: H2ServerOptions = {}): H2Server {
  return new ServerImpl(options);
}
