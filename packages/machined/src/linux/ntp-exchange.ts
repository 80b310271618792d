import { createSocket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { Code, TalosError } from '@talos-ts/cosi';

/** Splits `host`, `host:port`, `[v6]` or `[v6]:port` (port 123 by default). */
export function parseNtpServer(server: string): { host: string; port: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(server);
  if (v6) return { host: v6[1]!, port: v6[2] ? Number(v6[2]) : 123 };
  if (isIPv6(server)) return { host: server, port: 123 };
  const m = /^(.*):(\d+)$/.exec(server);
  return m ? { host: m[1]!, port: Number(m[2]) } : { host: server, port: 123 };
}

/**
 * One NTP request/reply over UDP: a connected socket per query (so an ICMP "port unreachable" fails
 * it at once instead of waiting for the timeout), closed when the reply, the timeout or the abort
 * comes first.
 */
export function ntpExchange(server: string, packet: Buffer, options: { timeoutMs: number; signal: AbortSignal }): Promise<Buffer> {
  const { host, port } = parseNtpServer(server);
  return new Promise((resolve, reject) => {
    if (options.signal.aborted) return reject(new TalosError(Code.Canceled, 'ntp query aborted'));
    const sock = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
    let done = false;
    const finish = (err: Error | undefined, data?: Buffer): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      sock.close();
      if (err) reject(err);
      else resolve(data!);
    };
    const onAbort = (): void => finish(new TalosError(Code.Canceled, 'ntp query aborted'));
    const timer = setTimeout(() => finish(new TalosError(Code.DeadlineExceeded, `no answer from ${server} in ${options.timeoutMs} ms`)), options.timeoutMs);
    options.signal.addEventListener('abort', onAbort, { once: true });
    sock.on('error', (err) => finish(new TalosError(Code.Unavailable, `ntp ${server}: ${err.message}`, { cause: err })));
    sock.on('message', (msg) => finish(undefined, msg));
    // A name that does not resolve reaches this callback with the error (and no 'error' event);
    // sending then would throw out of the event loop.
    const connected = (err?: Error): void => {
      if (err) return finish(new TalosError(Code.Unavailable, `ntp ${server}: ${err.message}`, { cause: err }));
      if (!done) sock.send(packet, (sendErr) => sendErr && finish(new TalosError(Code.Unavailable, `ntp ${server}: ${sendErr.message}`, { cause: sendErr })));
    };
    try {
      sock.connect(port, host, connected as () => void);
    } catch (err) {
      finish(new TalosError(Code.InvalidArgument, `ntp server ${JSON.stringify(server)}: ${(err as Error).message}`, { cause: err }));
    }
  });
}
