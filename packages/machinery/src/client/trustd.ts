import { credentials } from '@grpc/grpc-js';
import { Code, TalosError } from '@talos-ts/cosi';
import { SecurityService } from '../gen/security/security_pb.ts';
import { createGrpcClient } from '../grpc/client.ts';

/** trustd's port on control-plane nodes. */
export const TRUSTD_PORT = 50001;

/** The gRPC metadata key carrying the machine token to trustd. */
export const TRUSTD_TOKEN_METADATA = 'token';

/** Options of {@link requestCertificate}. */
export interface RequestCertificateOptions {
  /** host or host:port of trustd endpoints, tried in order. */
  readonly endpoints: readonly string[];
  /** The machine token (machine.token of the config). */
  readonly token: string;
  readonly csrPem: string;
  /** OS CA to verify trustd's server certificate by. */
  readonly caPem: string;
  readonly signal?: AbortSignal;
  readonly timeoutMs?: number;
}

/** What trustd returned: the CA and the signed certificate, PEM. */
export interface IssuedCertificate {
  readonly caPem: string;
  readonly crtPem: string;
}

/**
 * Asks trustd to sign a CSR, presenting the machine token; tries each endpoint until one answers.
 * This is how workers get their API certificate without ever holding the CA key.
 */
export async function requestCertificate(options: RequestCertificateOptions): Promise<IssuedCertificate> {
  if (options.endpoints.length === 0) throw new TalosError(Code.FailedPrecondition, 'no trustd endpoints known');
  const errors: string[] = [];
  for (const endpoint of options.endpoints) {
    const address = /:\d+$/.test(endpoint) && !endpoint.endsWith(']') ? endpoint : `${endpoint}:${TRUSTD_PORT}`;
    // trustd's certificate names the node's addresses as IP SANs, which is what we dial.
    const client = createGrpcClient(SecurityService, address, { credentials: credentials.createSsl(Buffer.from(options.caPem)) });
    try {
      const res = await client.certificate(
        { csr: Buffer.from(options.csrPem) },
        {
          metadata: { [TRUSTD_TOKEN_METADATA]: options.token },
          timeoutMs: options.timeoutMs ?? 10_000,
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
      return { caPem: Buffer.from(res.ca).toString('utf8'), crtPem: Buffer.from(res.crt).toString('utf8') };
    } catch (err) {
      if (options.signal?.aborted) throw TalosError.from(err);
      errors.push(`${address}: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      client.close();
    }
  }
  throw new TalosError(Code.Unavailable, `no trustd endpoint signed the certificate: ${errors.join('; ')}`);
}
