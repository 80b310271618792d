import { isIP } from 'node:net';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { SecurityService } from '../gen/security/security_pb.ts';
import { createGrpcClient } from '../grpc/client.ts';
import type { H2ChannelOptions } from '../grpc/h2/channel.ts';

import { TRUSTD_PORT } from '../contract/ports.ts';
import { TRUSTD_TOKEN_METADATA } from './trustd-api.ts';

/** Options of {@link requestCertificate}. */
export interface RequestCertificateOptions {
  /** trustd endpoints (`host` or `host:port`; port defaults to 50001), tried in order. */
  readonly endpoints: readonly string[];
  readonly token: string;
  readonly csrPem: string;
  /** Verify trustd against this CA; without it the server is not verified (as upstream before the CA is known). */
  readonly caPem?: string;
  readonly signal?: AbortSignal;
  /** Per endpoint; defaults to 10 s. */
  readonly timeoutMs?: number;
}

/** A signed certificate and the CA that signed it, PEM. */
export interface SignedCertificate {
  readonly caPem: string;
  readonly crtPem: string;
  /** The endpoint that answered. */
  readonly endpoint: string;
}

function endpointAddress(endpoint: string): string {
  if (/^\[.+\]:\d+$/.test(endpoint) || (isIP(endpoint) !== 6 && /:\d+$/.test(endpoint))) return endpoint;
  return isIP(endpoint) === 6 ? `[${endpoint}]:${TRUSTD_PORT}` : `${endpoint}:${TRUSTD_PORT}`;
}

function channelFor(caPem: string | undefined): H2ChannelOptions {
  return { tls: caPem !== undefined ? { caPem } : { insecureSkipVerify: true } };
}

/**
 * Asks trustd to sign a CSR, trying each endpoint until one answers. Throws the last failure
 * (a TalosError with the gRPC code) when none does, or Canceled when `signal` aborts.
 */
export async function requestCertificate(options: RequestCertificateOptions): Promise<SignedCertificate> {
  if (options.endpoints.length === 0) throw new TalosError(Code.InvalidArgument, 'no trustd endpoints to ask');
  const failures: string[] = [];
  let last: unknown;
  for (const endpoint of options.endpoints) {
    if (options.signal?.aborted) throw new TalosError(Code.Canceled, 'certificate request cancelled');
    const address = endpointAddress(endpoint);
    const ch = channelFor(options.caPem);
    const client = createGrpcClient(SecurityService, address, ch);
    try {
      const res = await client.certificate(
        { csr: Buffer.from(options.csrPem) },
        {
          metadata: { [TRUSTD_TOKEN_METADATA]: options.token },
          timeoutMs: options.timeoutMs ?? 10_000,
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      return { caPem: Buffer.from(res.ca).toString('utf8'), crtPem: Buffer.from(res.crt).toString('utf8'), endpoint };
    } catch (err) {
      if (hasCode(err, Code.Canceled) && options.signal?.aborted) throw err;
      last = err;
      failures.push(`${endpoint}: ${(err as Error).message}`);
    } finally {
      client.close();
    }
  }
  const e = TalosError.from(last);
  throw new TalosError(e.code, `no trustd endpoint signed the certificate (${failures.join('; ')})`, { cause: last });
}
