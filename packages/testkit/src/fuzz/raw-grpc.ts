// A deliberately low-level gRPC client on node:http2: it sends exactly the bytes and frames it is
// told to (wrong flags, lying lengths, tiny DATA frames, early resets), which no real client does,
// and reports what came back within a bound.
import { connect as h2connect, constants as h2, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { connect as netConnect } from 'node:net';

/** Where and how to reach a gRPC server. */
export interface RawTarget {
  /** `host:port` (TLS) or `unix:/path` (h2c over a unix socket, as machined serves apid). */
  readonly address: string;
  readonly caPem?: string;
  readonly crtPem?: string;
  readonly keyPem?: string;
}

/** What one raw call ended with. */
export interface RawOutcome {
  /** grpc-status, or undefined when none came. */
  readonly status: number | undefined;
  readonly message: string;
  /** The server reset the stream or closed the connection. */
  readonly reset: boolean;
  /** Nothing conclusive within the bound (we reset the stream ourselves). */
  readonly timedOut: boolean;
  /** Bytes of response messages received. */
  readonly responseBytes: number;
  readonly elapsedMs: number;
}

/** Opens an HTTP/2 session to a target; close it with `session.destroy()`. */
export function openSession(target: RawTarget): Promise<ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    let session: ClientHttp2Session;
    if (target.address.startsWith('unix:')) {
      const path = target.address.slice(5);
      session = h2connect('http://localhost', { createConnection: () => netConnect(path) });
    } else {
      session = h2connect(`https://${target.address}`, {
        ...(target.caPem ? { ca: target.caPem } : {}),
        ...(target.crtPem ? { cert: target.crtPem, key: target.keyPem } : {}),
        rejectUnauthorized: target.caPem !== undefined,
        checkServerIdentity: () => undefined,
        minVersion: 'TLSv1.3',
        ALPNProtocols: ['h2'],
      });
    }
    const onError = (err: Error): void => reject(err);
    session.once('error', onError);
    session.once('connect', () => {
      session.off('error', onError);
      // A late error on a session we abuse is an outcome, not a crash of the harness.
      session.on('error', () => {});
      resolve(session);
    });
  });
}

/** gRPC frame header: flag byte and a 4-byte length (which may lie). */
export function frameHeader(flag: number, length: number): Buffer {
  const h = Buffer.alloc(5);
  h[0] = flag;
  h.writeUInt32BE(length >>> 0, 1);
  return h;
}

/** Options of {@link rawCall}. */
export interface RawCallOptions {
  /** Extra request headers (metadata, or a wrong content-type). */
  readonly headers?: Record<string, string | string[]>;
  /** Body chunks, each written as its own DATA frame. */
  readonly chunks: readonly Buffer[];
  /** Leave the request side open (no END_STREAM) after the chunks. */
  readonly keepOpen?: boolean;
  /** Reset the stream ourselves right after writing (early cancel). */
  readonly resetAfterWrite?: boolean;
  /** Bound on the whole call. */
  readonly timeoutMs: number;
}

/** Sends one abusive call and waits (bounded) for a status, a reset or the end. */
export function rawCall(session: ClientHttp2Session, path: string, options: RawCallOptions): Promise<RawOutcome> {
  const started = performance.now();
  return new Promise((resolve) => {
    let stream: ClientHttp2Stream;
    let status: number | undefined;
    let message = '';
    let responseBytes = 0;
    let settled = false;
    const finish = (o: { reset?: boolean; timedOut?: boolean }): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!stream.destroyed) stream.close(h2.NGHTTP2_CANCEL);
      resolve({ status, message, reset: o.reset ?? false, timedOut: o.timedOut ?? false, responseBytes, elapsedMs: performance.now() - started });
    };
    const timer = setTimeout(() => finish({ timedOut: true }), options.timeoutMs);
    try {
      stream = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/grpc+proto',
        te: 'trailers',
        ...options.headers,
      });
    } catch (err) {
      clearTimeout(timer);
      resolve({ status: undefined, message: String(err), reset: true, timedOut: false, responseBytes: 0, elapsedMs: 0 });
      return;
    }
    const onHeaders = (headers: Record<string, unknown>): void => {
      if (headers['grpc-status'] !== undefined) {
        status = Number(headers['grpc-status']);
        message = decodeURIComponentSafe(String(headers['grpc-message'] ?? ''));
      }
    };
    stream.on('response', onHeaders);
    stream.on('trailers', onHeaders);
    stream.on('data', (d: Buffer) => (responseBytes += d.length));
    stream.on('error', () => finish({ reset: true }));
    stream.on('close', () => finish({ reset: status === undefined && stream.rstCode !== h2.NGHTTP2_NO_ERROR }));
    stream.resume();
    void (async () => {
      for (const c of options.chunks) {
        if (settled || stream.destroyed) return;
        if (!stream.write(c)) {
          await new Promise<void>((r) => {
            const done = (): void => {
              clearTimeout(t);
              stream.off('drain', done);
              stream.off('close', done);
              r();
            };
            const t = setTimeout(done, options.timeoutMs);
            stream.on('drain', done);
            stream.on('close', done);
          });
        }
      }
      if (settled || stream.destroyed) return;
      if (options.resetAfterWrite) stream.close(h2.NGHTTP2_CANCEL);
      else if (!options.keepOpen) stream.end();
    })();
  });
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
