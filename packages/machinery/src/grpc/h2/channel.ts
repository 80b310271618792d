import { connect as h2connect, constants as h2 } from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, Http2Session, IncomingHttpHeaders, IncomingHttpStatusHeader, OutgoingHttpHeaders, SecureClientSessionOptions } from 'node:http2';
import { connect as netConnect, isIP } from 'node:net';
import { checkServerIdentity } from 'node:tls';
import type { PeerCertificate } from 'node:tls';
import { Code, TalosError } from '@talos-ts/cosi';
import { DEFAULT_MAX_MESSAGE_BYTES, MessageReader, STATUS_OK, decodeGrpcMessage, encodeTimeout, frameMessage, metadataFromHeaders, putMetadata } from './wire.ts';
import type { GrpcMetadata } from './wire.ts';

/** Client-side TLS material: the CA the server must chain to, and our certificate. */
export interface H2ChannelTls {
  /** The CA the server must chain to; without it, the public roots Node ships (a public service). */
  readonly caPem?: Buffer | string;
  readonly certPem?: Buffer | string;
  readonly keyPem?: Buffer | string;
  /**
   * Accept any server certificate: only for a node in maintenance mode, whose certificate is
   * a throwaway self-signed one (upstream's `--insecure`). The connection is still encrypted.
   */
  readonly insecureSkipVerify?: boolean;
}

/** Options of {@link createH2Channel}. */
export interface H2ChannelOptions {
  /** Required for a `host:port` target (TLS 1.3 only) unless `plaintext`; ignored for `unix:PATH`. */
  readonly tls?: H2ChannelTls;
  /** Speak plaintext HTTP/2 to a `host:port` target (loopback test servers, a TLS-terminating proxy). */
  readonly plaintext?: boolean;
  /** Largest response message accepted; bigger ones end the call with RESOURCE_EXHAUSTED. */
  readonly maxMessageBytes?: number;
  /**
   * A connection not ready (TCP, TLS and the HTTP/2 preface) this long after the dial is given
   * up: its calls end UNAVAILABLE. Unbounded when absent; a SYN into a black hole otherwise waits
   * for the kernel's retries (about two minutes).
   */
  readonly connectTimeoutMs?: number;
  /**
   * While calls are in flight, a PING every `intervalMs`; a connection whose PING is not answered
   * within `timeoutMs` is closed and its calls end UNAVAILABLE. Without it, a call on a connection
   * whose path went dead (a black-holed route) waits for TCP to give up, about fifteen minutes.
   */
  readonly keepalive?: { readonly intervalMs: number; readonly timeoutMs: number };
}

/**
 * Bounds for a channel to another node's API over the network: upstream's minimum connect
 * timeout (20 s), and a PING every 10 s while calls are in flight, as upstream's action tracker
 * dials; the PING gets 10 s (upstream 5 s) since a node under emulation can be slow to answer.
 */
export const NodeChannelBounds = {
  connectTimeoutMs: 20_000,
  keepalive: { intervalMs: 10_000, timeoutMs: 10_000 },
} as const satisfies Pick<H2ChannelOptions, 'connectTimeoutMs' | 'keepalive'>;

/** Per-call options. */
export interface H2CallOptions {
  readonly metadata?: GrpcMetadata;
  /** Relative deadline; sent as grpc-timeout and enforced here too. */
  readonly timeoutMs?: number;
  /** Absolute deadline (Date.now() scale); the earlier of this and `timeoutMs` wins. */
  readonly deadline?: number;
  /** Aborting cancels the call (RST_STREAM CANCEL). */
  readonly signal?: AbortSignal;
}

/** How a call ended. */
export interface CallStatus {
  /** 0 for OK, otherwise a gRPC code (numbered like Code). */
  readonly code: number;
  readonly message: string;
  /** Trailers (or the headers of a trailers-only response), without grpc-status/-message. */
  readonly metadata: GrpcMetadata;
  /**
   * True when no gRPC server sent this status: it was made here because the connection failed
   * (DNS, TCP, TLS, reset), the peer did not speak gRPC, or the call was cancelled or timed out.
   */
  readonly local?: boolean;
}

/** Callbacks of a low-level call; `onStatus` runs exactly once, after the last message. */
export interface ClientCallHandlers {
  onMessage?(message: Buffer): void;
  onStatus(status: CallStatus): void;
}

/** A call in flight, as {@link H2Channel.start} returns it. */
export interface ClientCall {
  /** Sends one request message; false means wait for `onDrain`. Dropped once the call ended. */
  write(message: Uint8Array): boolean;
  /** Half-closes: no more request messages. */
  end(): void;
  /** Cancels the call (the status becomes CANCELLED unless it already ended). */
  cancel(): void;
  /** Stops reading responses (HTTP/2 flow control pushes back on the server). */
  pause(): void;
  resume(): void;
  onDrain(fn: () => void): void;
}

/** A gRPC client channel: one HTTP/2 connection, dialled lazily, shared by every call. */
export interface H2Channel extends Disposable {
  readonly target: string;
  /** Starts a call of any kind; messages and the status arrive through `handlers`. */
  start(path: string, handlers: ClientCallHandlers, options?: H2CallOptions): ClientCall;
  unary(path: string, request: Uint8Array, options?: H2CallOptions): Promise<Buffer>;
  serverStream(path: string, request: Uint8Array, options?: H2CallOptions): AsyncIterable<Buffer>;
  clientStream(path: string, requests: AsyncIterable<Uint8Array>, options?: H2CallOptions): Promise<Buffer>;
  bidi(path: string, requests: AsyncIterable<Uint8Array>, options?: H2CallOptions): AsyncIterable<Buffer>;
  /** Closes the connection; calls in flight are cancelled. */
  close(): void;
  /** Takes no more calls; those in flight finish, then the connection closes. */
  drain(): void;
}

/** The TalosError of a non-OK status. */
export function statusError(status: CallStatus): TalosError {
  const code = status.code >= 1 && status.code <= 16 ? (status.code as Code) : Code.Unknown;
  return new TalosError(code, status.message);
}

function httpStatusCode(status: number): number {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

const noMetadata: GrpcMetadata = new Map();
const keepTrailer = (k: string): boolean => k.charCodeAt(0) !== 58 && k !== 'grpc-status' && k !== 'grpc-message' && k !== 'content-type';

/** The host of a `host:port` / `[v6]:port` target. */
function splitTarget(target: string): { host: string; port: number } {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(target) ?? /^([^:]+):(\d+)$/.exec(target);
  if (m === null) throw new TalosError(Code.InvalidArgument, `target must be host:port, [v6]:port or unix:PATH, got ${target}`);
  return { host: m[1] as string, port: Number(m[2]) };
}

class Call implements ClientCall {
  readonly #stream: ClientHttp2Stream;
  readonly #handlers: ClientCallHandlers;
  readonly #channel: Channel;
  readonly #reader: MessageReader;
  #status: CallStatus | undefined;
  #ended = false;
  #done = false;
  #timer: NodeJS.Timeout | undefined;
  #signal: AbortSignal | undefined;
  #onAbort: (() => void) | undefined;
  #error: Error | undefined;

  constructor(channel: Channel, stream: ClientHttp2Stream, handlers: ClientCallHandlers, maxBytes: number, timeoutMs: number | undefined, signal: AbortSignal | undefined) {
    this.#channel = channel;
    this.#stream = stream;
    this.#handlers = handlers;
    this.#reader = new MessageReader(maxBytes);
    stream.on('response', (headers: IncomingHttpHeaders & IncomingHttpStatusHeader) => this.#onResponse(headers));
    stream.on('trailers', (trailers: IncomingHttpHeaders) => {
      if (this.#status === undefined) this.#status = this.#statusOf(trailers);
    });
    stream.on('data', (chunk: Buffer) => this.#onData(chunk));
    stream.on('end', () => {
      this.#ended = true;
      if (this.#status !== undefined) this.#finish(this.#status);
    });
    stream.on('error', (err: Error) => {
      this.#error ??= err;
    });
    stream.on('close', () => this.#onClose());
    if (timeoutMs !== undefined) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#abort(Code.DeadlineExceeded, 'deadline exceeded');
      }, Math.max(0, timeoutMs));
    }
    if (signal !== undefined) {
      if (signal.aborted) queueMicrotask(() => this.cancel());
      else {
        this.#signal = signal;
        this.#onAbort = () => this.cancel();
        signal.addEventListener('abort', this.#onAbort, { once: true });
      }
    }
  }

  #statusOf(headers: IncomingHttpHeaders): CallStatus {
    const raw = headers['grpc-status'];
    const code = raw === undefined ? Code.Unknown : Number(raw);
    const msg = headers['grpc-message'];
    const message = typeof msg === 'string' ? decodeGrpcMessage(msg) : raw === undefined ? 'no grpc-status in the trailers' : '';
    return { code: Number.isInteger(code) ? code : Code.Unknown, message, metadata: metadataFromHeaders(headers, keepTrailer) };
  }

  #onResponse(headers: IncomingHttpHeaders & IncomingHttpStatusHeader): void {
    const status = headers[':status'] ?? 0;
    if (status !== 200) {
      this.#status = { code: httpStatusCode(status), message: `HTTP status ${status}`, metadata: noMetadata, local: true };
      return;
    }
    const ct = headers['content-type'];
    if (ct === undefined || !ct.startsWith('application/grpc')) {
      this.#status = { code: Code.Unknown, message: `unexpected content-type ${String(ct)}`, metadata: noMetadata, local: true };
      return;
    }
    // Trailers-only: grpc-status rides on the only HEADERS frame.
    if (headers['grpc-status'] !== undefined) this.#status = this.#statusOf(headers);
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    try {
      this.#reader.push(chunk, (m) => {
        if (!this.#done) this.#handlers.onMessage?.(m);
      });
    } catch (err) {
      const e = TalosError.from(err);
      this.#abort(e.code, e.message);
    }
  }

  #onClose(): void {
    if (this.#done) return;
    if (this.#status !== undefined) {
      this.#finish(this.#status);
      return;
    }
    const rst = this.#stream.rstCode;
    const session = this.#stream.session;
    if (session === undefined || session.destroyed || session.closed) {
      // The connection went (TLS alert, reset, GOAWAY): its error may only be reported on the
      // next turn, after the stream's own close.
      setImmediate(() => {
        const err = this.#error ?? this.#channel.lastError(session);
        this.#finish({ code: Code.Unavailable, message: `connection to ${this.#channel.target} lost${err === undefined ? '' : `: ${err.message}`}`, metadata: noMetadata, local: true });
      });
      return;
    }
    if (this.#error !== undefined) {
      this.#finish({ code: Code.Unavailable, message: this.#error.message, metadata: noMetadata, local: true });
    } else if (rst === h2.NGHTTP2_REFUSED_STREAM) {
      this.#finish({ code: Code.Unavailable, message: 'stream refused by the server', metadata: noMetadata, local: true });
    } else if (rst === h2.NGHTTP2_CANCEL) {
      this.#finish({ code: Code.Canceled, message: 'call cancelled by the server', metadata: noMetadata, local: true });
    } else {
      this.#finish({ code: Code.Internal, message: `stream closed without a status (HTTP/2 code ${rst ?? 0})`, metadata: noMetadata, local: true });
    }
  }

  #finish(status: CallStatus): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    if (this.#onAbort !== undefined) this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#channel.callDone();
    this.#handlers.onStatus(status);
  }

  #abort(code: number, message: string): void {
    if (this.#done) return;
    if (!this.#stream.destroyed) this.#stream.close(h2.NGHTTP2_CANCEL);
    this.#finish({ code, message, metadata: noMetadata, local: true });
  }

  write(message: Uint8Array): boolean {
    // Once the call is over, writes are dropped; true keeps writers from waiting for a drain.
    if (this.#done || this.#stream.destroyed || this.#stream.writableEnded) return true;
    return this.#stream.write(frameMessage(message));
  }

  end(): void {
    if (!this.#stream.destroyed && !this.#stream.writableEnded) this.#stream.end();
  }

  cancel(): void {
    this.#abort(Code.Canceled, 'call cancelled');
  }

  pause(): void {
    this.#stream.pause();
  }

  resume(): void {
    this.#stream.resume();
  }

  onDrain(fn: () => void): void {
    this.#stream.once('drain', fn);
  }

  /** Whether every message was delivered (the stream's readable side ended). */
  get ended(): boolean {
    return this.#ended;
  }
}

class Channel implements H2Channel {
  readonly target: string;
  readonly #options: H2ChannelOptions;
  readonly #maxBytes: number;
  #session: ClientHttp2Session | undefined;
  #active = 0;
  #closed = false;
  readonly #errors = new WeakMap<Http2Session, Error>();

  constructor(target: string, options: H2ChannelOptions) {
    this.target = target;
    this.#options = options;
    this.#maxBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    if (!target.startsWith('unix:')) {
      splitTarget(target);
      if (options.tls === undefined && options.plaintext !== true) throw new TalosError(Code.InvalidArgument, `a TCP target (${target}) needs TLS material`);
    }
  }

  #dial(): ClientHttp2Session {
    const target = this.target;
    let session: ClientHttp2Session;
    if (target.startsWith('unix:')) {
      const path = target.slice('unix:'.length);
      session = h2connect('http://localhost', { createConnection: () => netConnect(path) });
    } else {
      const { host, port } = splitTarget(target);
      const authority = `${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
      const tls = this.#options.tls;
      if (tls === undefined) {
        session = h2connect(`http://${authority}`);
      } else {
        const opts: SecureClientSessionOptions = {
          minVersion: 'TLSv1.3',
          ...(tls.caPem === undefined ? {} : { ca: tls.caPem }),
          ...(tls.certPem === undefined ? {} : { cert: tls.certPem }),
          ...(tls.keyPem === undefined ? {} : { key: tls.keyPem }),
          // Node refuses an IP address as SNI name: send a placeholder, still verify the IP SAN.
          servername: isIP(host) === 0 ? host : 'talos-ip-target',
          ...(tls.insecureSkipVerify === true
            ? { rejectUnauthorized: false }
            : { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(host, cert) }),
        };
        session = h2connect(`https://${authority}`, opts);
      }
    }
    const forget = (): void => {
      if (this.#session === session) this.#session = undefined;
    };
    session.on('error', (err: Error) => {
      this.#errors.set(session, err);
      forget();
    });
    session.on('close', forget);
    session.on('goaway', forget);
    this.#bound(session);
    return session;
  }

  /** Arms the connect deadline and the keepalive of a new connection (TCP targets only). */
  #bound(session: ClientHttp2Session): void {
    if (this.target.startsWith('unix:')) return;
    const fail = (message: string): void => {
      if (session.destroyed) return;
      const err = new TalosError(Code.Unavailable, message);
      this.#errors.set(session, err);
      session.destroy(err);
    };
    let connected = false;
    let connectTimer: NodeJS.Timeout | undefined;
    let pingTimer: NodeJS.Timeout | undefined;
    let pongTimer: NodeJS.Timeout | undefined;
    const connectMs = this.#options.connectTimeoutMs;
    if (connectMs !== undefined) {
      connectTimer = setTimeout(() => fail(`no connection to ${this.target} within ${connectMs} ms`), connectMs);
      connectTimer.unref();
    }
    session.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
    });
    const ka = this.#options.keepalive;
    if (ka !== undefined) {
      const tick = (): void => {
        // Only calls in flight need a live path: an idle connection is left alone.
        if (!connected || pongTimer !== undefined || this.#active === 0 || session.destroyed) return;
        const timer = setTimeout(() => fail(`connection to ${this.target} did not answer a keepalive PING within ${ka.timeoutMs} ms`), ka.timeoutMs);
        timer.unref();
        pongTimer = timer;
        const settle = (): void => {
          clearTimeout(timer);
          if (pongTimer === timer) pongTimer = undefined;
        };
        try {
          if (!session.ping((err) => (settle(), err === null ? undefined : fail(`keepalive PING to ${this.target} failed: ${err.message}`)))) settle();
        } catch {
          settle();
        }
      };
      pingTimer = setInterval(tick, ka.intervalMs);
      pingTimer.unref();
    }
    session.once('close', () => {
      clearTimeout(connectTimer);
      clearInterval(pingTimer);
      clearTimeout(pongTimer);
    });
  }

  #sessionFor(): ClientHttp2Session {
    let s = this.#session;
    if (s === undefined || s.closed || s.destroyed) {
      s = this.#dial();
      this.#session = s;
    }
    return s;
  }

  /** The error a connection failed with, if it reported one. */
  lastError(session: Http2Session | undefined): Error | undefined {
    return session === undefined ? undefined : this.#errors.get(session);
  }

  callDone(): void {
    if (--this.#active === 0) this.#session?.unref();
  }

  start(path: string, handlers: ClientCallHandlers, options: H2CallOptions = {}): ClientCall {
    if (this.#closed) throw new TalosError(Code.Unavailable, `channel to ${this.target} is closed`);
    let timeoutMs = options.timeoutMs;
    if (options.deadline !== undefined) {
      const left = options.deadline - Date.now();
      timeoutMs = timeoutMs === undefined ? left : Math.min(timeoutMs, left);
    }
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': path,
      'content-type': 'application/grpc',
      te: 'trailers',
    };
    if (timeoutMs !== undefined) headers['grpc-timeout'] = encodeTimeout(timeoutMs);
    putMetadata(headers as Record<string, string | string[] | number>, options.metadata);
    const session = this.#sessionFor();
    if (this.#active++ === 0) session.ref();
    let stream: ClientHttp2Stream;
    try {
      stream = session.request(headers, { endStream: false });
    } catch (err) {
      this.#active--;
      throw new TalosError(Code.Unavailable, `cannot start a call to ${this.target}: ${(err as Error).message}`, { cause: err });
    }
    return new Call(this, stream, handlers, this.#maxBytes, timeoutMs, options.signal);
  }

  unary(path: string, request: Uint8Array, options?: H2CallOptions): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => {
      const call = this.start(path, oneReply(resolve, reject), options);
      call.write(request);
      call.end();
    });
  }

  serverStream(path: string, request: Uint8Array, options?: H2CallOptions): AsyncIterable<Buffer> {
    return this.#iterate(path, options, (call) => {
      call.write(request);
      call.end();
    });
  }

  clientStream(path: string, requests: AsyncIterable<Uint8Array>, options?: H2CallOptions): Promise<Buffer> {
    return new Promise<Buffer>((resolve, reject) => pump(this.start(path, oneReply(resolve, reject), options), requests));
  }

  bidi(path: string, requests: AsyncIterable<Uint8Array>, options?: H2CallOptions): AsyncIterable<Buffer> {
    return this.#iterate(path, options, (call) => pump(call, requests));
  }

  #iterate(path: string, options: H2CallOptions | undefined, send: (call: ClientCall) => void): AsyncIterable<Buffer> {
    const startCall = (handlers: ClientCallHandlers): ClientCall => this.start(path, handlers, options);
    return {
      async *[Symbol.asyncIterator]() {
        const queue: Buffer[] = [];
        let status: CallStatus | undefined;
        let wake: (() => void) | undefined;
        let paused = false;
        const kick = (): void => {
          const w = wake;
          wake = undefined;
          w?.();
        };
        const call = startCall(
          {
            onMessage: (m) => {
              queue.push(m);
              if (queue.length >= 16 && !paused) {
                paused = true;
                call.pause();
              }
              kick();
            },
            onStatus: (s) => {
              status = s;
              kick();
            },
          },
        );
        send(call);
        try {
          for (;;) {
            const m = queue.shift();
            if (m !== undefined) {
              if (paused && queue.length < 4) {
                paused = false;
                call.resume();
              }
              yield m;
              continue;
            }
            if (status !== undefined) {
              if (status.code !== STATUS_OK) throw statusError(status);
              return;
            }
            await new Promise<void>((r) => (wake = r));
          }
        } finally {
          // Leaving the loop early must not leave the call running on the server.
          if (status === undefined) call.cancel();
        }
      },
    };
  }

  close(): void {
    this.#closed = true;
    const s = this.#session;
    this.#session = undefined;
    s?.destroy();
  }

  drain(): void {
    this.#closed = true;
    const s = this.#session;
    this.#session = undefined;
    // Graceful: calls in flight finish on the old connection, which then goes away.
    if (s !== undefined && !s.destroyed) s.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Handlers of a call answered by exactly one message (unary and client-streaming). */
function oneReply(resolve: (reply: Buffer) => void, reject: (err: TalosError) => void): ClientCallHandlers {
  let reply: Buffer | undefined;
  let count = 0;
  return {
    onMessage: (m) => {
      count++;
      reply = m;
    },
    onStatus: (s) => {
      if (s.code !== STATUS_OK) reject(statusError(s));
      else if (count !== 1 || reply === undefined) reject(new TalosError(Code.Internal, `expected one reply message, got ${count}`));
      else resolve(reply);
    },
  };
}

function pump(call: ClientCall, requests: AsyncIterable<Uint8Array>): void {
  void (async () => {
    for await (const r of requests) {
      if (!call.write(r)) await new Promise<void>((resolve) => call.onDrain(resolve));
    }
    call.end();
  })().catch(() => call.cancel());
}

/**
 * Creates a channel to `host:port` (TLS 1.3, server verified against the CA and by the host's
 * name or IP, client certificate when given) or `unix:PATH` (plaintext).
 */
export function createH2Channel(target: string, options: H2ChannelOptions = {}): H2Channel {
  return new Channel(target, options);
}
