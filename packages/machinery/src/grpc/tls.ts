// grpc-js credentials with the same TLS rules as our h2 transport: used only by the interop tests
// that run grpc-js against our server and channel (grpc-js is a development dependency).
import { isIP } from 'node:net';
import { checkServerIdentity, createSecureContext } from 'node:tls';
import type { PeerCertificate, SecureContextOptions } from 'node:tls';
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
