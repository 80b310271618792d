import { readFileSync, watch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, createSecureContext } from 'node:tls';
import type { PeerCertificate, SecureContextOptions } from 'node:tls';
import { join } from 'node:path';
import { ServerCredentials, credentials } from '@grpc/grpc-js';
import type { ChannelCredentials, ClientOptions } from '@grpc/grpc-js';

/** PEM material of one TLS endpoint. */
export interface TlsMaterial {
  /** Trusted CA(s): clients are verified against it on a server, servers on a client. */
  readonly caPem?: Buffer | string;
  readonly certPem?: Buffer | string;
  readonly keyPem?: Buffer | string;
}

/** Options of {@link ReloadableServerCredentials}. */
export interface ReloadableServerCredentialsOptions {
  /** Ask for and verify a client certificate against `caPem`; connections without one fail the handshake. */
  readonly requireClientCert: boolean;
}

function contextOptions(m: TlsMaterial): SecureContextOptions {
  // minVersion belongs to the secure context: Node rebuilds it from these options on every swap.
  return {
    minVersion: 'TLSv1.3',
    ...(m.caPem === undefined ? {} : { ca: m.caPem }),
    ...(m.certPem === undefined ? {} : { cert: m.certPem }),
    ...(m.keyPem === undefined ? {} : { key: m.keyPem }),
  };
}

/**
 * grpc-js server credentials (TLS 1.3 only) whose certificate, key and CA can be replaced while
 * the server keeps listening: grpc-js subscribes to credentials and hands each update to the
 * HTTP/2 server's `setSecureContext`, so new handshakes use the new material and established
 * connections are left alone.
 */
export class ReloadableServerCredentials extends ServerCredentials {
  constructor(material: TlsMaterial, options: ReloadableServerCredentialsOptions) {
    const ctx = contextOptions(material);
    createSecureContext(ctx);
    super(
      {
        minVersion: 'TLSv1.3',
        requestCert: options.requireClientCert,
        rejectUnauthorized: options.requireClientCert,
      },
      ctx,
    );
  }

  /** Swaps in new material; throws (keeping the old one) when the material is unusable. */
  update(material: TlsMaterial): void {
    const ctx = contextOptions(material);
    createSecureContext(ctx);
    this.updateSecureContextOptions(ctx);
  }

  override _equals(other: ServerCredentials): boolean {
    return other === this;
  }
}

/** What {@link tlsChannel} returns: pass both to a grpc-js `Client`. */
export interface TlsChannel {
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ClientOptions;
}

/**
 * Channel credentials (TLS 1.3) that verify the server against `caPem` by the host of `target`
 * and present the client certificate when given. For an IP target the SNI name is replaced by
 * a placeholder (Node refuses IP server names) while the certificate is still checked for the IP.
 */
export function tlsChannel(target: string, material: TlsMaterial): TlsChannel {
  const host = hostOf(target);
  const secureContext = createSecureContext(contextOptions(material));
  const verify = (_name: string, cert: PeerCertificate): Error | undefined => checkServerIdentity(host, cert);
  const creds = credentials.createFromSecureContext(secureContext, { checkServerIdentity: verify });
  return {
    credentials: creds,
    channelOptions: isIP(host) === 0 ? {} : { 'grpc.ssl_target_name_override': 'talos-ip-target' },
  };
}

function hostOf(target: string): string {
  const t = target.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, '');
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(t);
  if (bracketed?.[1] !== undefined) return bracketed[1];
  if (isIP(t) === 6) return t;
  const colon = t.lastIndexOf(':');
  return colon < 0 ? t : t.slice(0, colon);
}

/** Options of {@link watchFiles}. */
export interface WatchFilesOptions {
  /** Re-read the files this often even without a change notification (renames can slip by). */
  readonly pollMs?: number;
  /** Coalesces the bursts of events a write-then-rename produces. */
  readonly debounceMs?: number;
  /** Called when a read or the callback fails; the previous contents stay current. */
  readonly onError?: (err: unknown) => void;
}

/** Contents of watched files by name; undefined for a file that does not exist (yet). */
export type FileContents = Readonly<Record<string, Buffer | undefined>>;

/** Reads the named files of a directory; missing files are undefined. */
export function readFiles(dir: string, names: readonly string[]): FileContents {
  const out: Record<string, Buffer | undefined> = {};
  for (const n of names) {
    try {
      out[n] = readFileSync(join(dir, n));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      out[n] = undefined;
    }
  }
  return out;
}

function sameContents(a: FileContents, b: FileContents): boolean {
  for (const k of Object.keys(b)) {
    const x = a[k];
    const y = b[k];
    if (x === undefined || y === undefined ? x !== y : !x.equals(y)) return false;
  }
  return true;
}

/**
 * Calls `onChange` whenever the contents of any of the named files in `dir` change: on a
 * directory change notification and on a periodic re-read. The current contents are read
 * at once and returned as `initial`; `onChange` is not called for them.
 */
export function watchFiles(
  dir: string,
  names: readonly string[],
  onChange: (contents: FileContents) => void,
  options: WatchFilesOptions = {},
): { readonly initial: FileContents } & Disposable {
  let last = readFiles(dir, names);
  let timer: NodeJS.Timeout | undefined;
  const check = (): void => {
    timer = undefined;
    try {
      const now = readFiles(dir, names);
      if (sameContents(last, now)) return;
      last = now;
      onChange(now);
    } catch (err) {
      options.onError?.(err);
    }
  };
  const soon = (): void => {
    if (timer === undefined) timer = setTimeout(check, options.debounceMs ?? 50);
  };
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(dir, { persistent: false }, soon);
    watcher.on('error', () => {});
  } catch {
    // The poll below still notices changes when the directory cannot be watched.
  }
  const poll = setInterval(check, options.pollMs ?? 3000);
  poll.unref();
  return {
    initial: last,
    [Symbol.dispose]() {
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      watcher?.close();
    },
  };
}
