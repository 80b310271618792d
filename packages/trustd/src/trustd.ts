import { createHash, timingSafeEqual } from 'node:crypto';
import { createSecureContext } from 'node:tls';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { Code, TalosError, nullLogger, systemClock } from '@talos-ts/cosi';
import type { Clock, Logger } from '@talos-ts/cosi';
import { createH2Server, issueCertificate, loadCertificateAuthority, parseCsr, securityPb, watchFiles } from '@talos-ts/machinery';
import type { CertificateAuthority, FileContents, GrpcMetadata, H2Server, ServerCall } from '@talos-ts/machinery';
import { CertFiles, TRUSTD_PORT as MACHINERY_TRUSTD_PORT, TRUSTD_TOKEN_METADATA } from '@talos-ts/machinery';
import { FailedTokenLimiter, limiterSource, type FailedTokenLimiterOptions, type RefusalReport } from './limiter.ts';

/** File names trustd reads from its certificates directory (the node contract's, in machinery). */
export const TrustdFiles = {
  ca: CertFiles.ca,
  caKey: CertFiles.caKey,
  serverCrt: CertFiles.serverCrt,
  serverKey: CertFiles.serverKey,
  token: CertFiles.token,
} as const;

/** Upstream's trustd port (the node contract's). */
export const TRUSTD_PORT = MACHINERY_TRUSTD_PORT;

/** The gRPC metadata key carrying the machine token (upstream's basic token credentials). */
export const TOKEN_METADATA_KEY = TRUSTD_TOKEN_METADATA;

/** Longest lifetime of a certificate trustd signs: 24 h, as upstream (nodes renew at half-life). */
export const MAX_CERT_VALIDITY_SECONDS = 24 * 3600;

/**
 * Largest CSR trustd reads, in bytes of the request field (PEM or DER), checked before parsing.
 * A CSR at every other limit below (an RSA-4096 key, 100 SANs of 253 bytes) is about 36 KB as PEM.
 */
export const MAX_CSR_BYTES = 64 * 1024;

/**
 * Most subject alternative names (DNS and IP together) trustd signs. A node certificate names the
 * node's hostnames and addresses plus `machine.certSANs`: a handful, a few dozen on a node with
 * many interfaces. 100 leaves room for that and matches the per-certificate name limit public CAs
 * such as Let's Encrypt apply.
 */
export const MAX_CSR_SANS = 100;

/** Longest DNS name in a CSR: RFC 1035's 255-octet wire limit is 253 characters as text. */
export const MAX_DNS_NAME_LENGTH = 253;

/** Longest label of a DNS name (RFC 1035). */
export const MAX_DNS_LABEL_LENGTH = 63;

/** Options of {@link createTrustd}. */
export interface TrustdOptions {
  /** `host:port` to listen on (port 0 picks one). */
  readonly listen: string;
  /** Directory with ca.crt, ca.key, server.crt, server.key and token. */
  readonly certsDir: string;
  readonly logger?: Logger;
  /** Capped at {@link MAX_CERT_VALIDITY_SECONDS}. */
  readonly validitySeconds?: number;
  readonly certPollMs?: number;
  /** Time for the failed-token limiter and, unless `now` is given, for certificate validity. */
  readonly clock?: Clock;
  readonly now?: () => Date;
  /** Limits on failed token attempts per source; defaults as in `limiter.ts`. */
  readonly failedTokenLimits?: Omit<FailedTokenLimiterOptions, 'now'>;
}

/** A running (or not yet started) trustd. */
export interface Trustd extends AsyncDisposable {
  /** Binds and starts serving; resolves to the bound `host:port`. */
  listen(): Promise<string>;
  close(graceMs?: number): Promise<void>;
}

/** What the signer works from; replaced as a whole when the files change. */
interface Material {
  readonly ca: CertificateAuthority;
  readonly tokenHash: Buffer;
}

const sha256 = (s: string): Buffer => createHash('sha256').update(s, 'utf8').digest();

function materialOf(files: FileContents): Material {
  const crt = files[TrustdFiles.ca];
  const key = files[TrustdFiles.caKey];
  const token = files[TrustdFiles.token]?.toString('utf8').trim();
  if (crt === undefined || key === undefined || token === undefined || token === '') {
    throw new TalosError(Code.FailedPrecondition, `certificates directory must hold ${TrustdFiles.ca}, ${TrustdFiles.caKey} and a non-empty ${TrustdFiles.token}`);
  }
  return { ca: loadCertificateAuthority(crt, key), tokenHash: sha256(token) };
}

/** Refuses a CSR trustd will not sign whatever the token: too many names, or names too long. */
function checkSans(dnsNames: readonly string[], ipAddresses: readonly string[]): void {
  const count = dnsNames.length + ipAddresses.length;
  if (count > MAX_CSR_SANS) {
    throw new TalosError(Code.InvalidArgument, `csr: ${count} subject alternative names (DNS and IP), over the limit of ${MAX_CSR_SANS}`);
  }
  for (const [i, name] of dnsNames.entries()) {
    if (name.length > MAX_DNS_NAME_LENGTH) {
      throw new TalosError(Code.InvalidArgument, `csr: DNS name ${i} is ${name.length} characters, over the limit of ${MAX_DNS_NAME_LENGTH}`);
    }
    const long = name.split('.').find((label) => label.length > MAX_DNS_LABEL_LENGTH);
    if (long !== undefined) {
      throw new TalosError(Code.InvalidArgument, `csr: DNS name ${i} has a label of ${long.length} characters, over the limit of ${MAX_DNS_LABEL_LENGTH}`);
    }
  }
}

/** The one method trustd serves. */
const CERTIFICATE_PATH = '/securityapi.SecurityService/Certificate';

function tokenMatches(metadata: GrpcMetadata, expected: Buffer): boolean {
  const got = metadata.get(TOKEN_METADATA_KEY)?.[0];
  if (got === undefined) return false;
  // Hashing first makes the comparison constant-time whatever the presented length.
  return timingSafeEqual(sha256(typeof got === 'string' ? got : got.toString('utf8')), expected);
}

/** Creates trustd; call `listen()` to start it. */
export function createTrustd(options: TrustdOptions): Trustd {
  const log = (options.logger ?? nullLogger).child({ component: 'trustd' });
  const clock = options.clock ?? systemClock;
  const now = options.now ?? (() => new Date(clock.now()));
  const limiter = new FailedTokenLimiter({ ...options.failedTokenLimits, now: () => clock.now() });
  const logRefusals = (r: RefusalReport | undefined): void => {
    if (r === undefined) return;
    log.warn('refused certificate requests from a source with a missing or wrong token', { ...r });
  };
  const validityMs = Math.min(options.validitySeconds ?? MAX_CERT_VALIDITY_SECONDS, MAX_CERT_VALIDITY_SECONDS) * 1000;
  let material: Material | undefined;
  let watcher: Disposable | undefined;
  let server: H2Server | undefined;
  let closed = false;

  /** The token check, behind the per-source limit; throws when the call must go no further. */
  const authenticate = (call: ServerCall, m: Material): void => {
    const source = limiterSource(call.peer);
    if (!limiter.allows(source)) {
      logRefusals(limiter.rateLimited(source));
      throw new TalosError(Code.ResourceExhausted, 'too many failed token attempts from this address; retry later');
    }
    if (!tokenMatches(call.metadata, m.tokenHash)) {
      logRefusals(limiter.wrongToken(source));
      throw new TalosError(Code.Unauthenticated, 'invalid token');
    }
  };

  const certificate = (req: securityPb.CertificateRequest, call: ServerCall, m: Material): { ca: Buffer; crt: Buffer } => {
    if (req.csr.length > MAX_CSR_BYTES) {
      throw new TalosError(Code.InvalidArgument, `csr: ${req.csr.length} bytes, over the limit of ${MAX_CSR_BYTES}`);
    }
    let csr;
    try {
      csr = parseCsr(req.csr);
    } catch (err) {
      throw new TalosError(Code.InvalidArgument, `failed to parse CSR: ${(err as Error).message}`);
    }
    checkSans(csr.dnsNames, csr.ipAddresses);
    if (!csr.signatureValid) throw new TalosError(Code.InvalidArgument, 'CSR signature does not verify');
    // As upstream: a server certificate only. The subject keeps its common name but loses any
    // Organization, which would otherwise let a token holder mint API roles; CA:TRUE, key usages
    // and other extensions a CSR may ask for are ignored.
    const notBefore = new Date(Math.floor(now().getTime() / 1000) * 1000);
    const crt = issueCertificate(m.ca, {
      publicKey: csr.publicKey,
      subject: csr.subject.commonName === undefined ? {} : { commonName: csr.subject.commonName },
      notBefore,
      notAfter: new Date(notBefore.getTime() + validityMs),
      isCa: false,
      keyUsage: ['digitalSignature'],
      extKeyUsage: ['serverAuth'],
      dnsNames: csr.dnsNames,
      ipAddresses: csr.ipAddresses,
    });
    log.info('signed a certificate', {
      peer: call.peer,
      commonName: csr.subject.commonName ?? '',
      droppedOrganizations: (csr.subject.organizations ?? []).join(','),
      dnsNames: csr.dnsNames.join(','),
      ipAddresses: csr.ipAddresses.join(','),
    });
    return { ca: Buffer.from(m.ca.crtPem), crt: Buffer.from(crt) };
  };

  const onChange = (files: FileContents): void => {
    try {
      const next = materialOf(files);
      const crt = files[TrustdFiles.serverCrt];
      const key = files[TrustdFiles.serverKey];
      if (crt === undefined || key === undefined) throw new TalosError(Code.FailedPrecondition, 'server certificate missing');
      // Validate first: a mismatched pair must not replace working material.
      createSecureContext({ minVersion: 'TLSv1.3', cert: crt, key });
      server?.setSecureContext({ certPem: crt, keyPem: key });
      material = next;
      log.info('certificates reloaded', { dir: options.certsDir });
    } catch (err) {
      log.warn('new certificates unusable; keeping the previous ones', { error: err });
    }
  };

  const close = async (graceMs = 2000): Promise<void> => {
    if (closed) return;
    closed = true;
    watcher?.[Symbol.dispose]();
    await server?.close(graceMs);
  };

  return {
    async listen(): Promise<string> {
      if (server !== undefined || closed) throw new TalosError(Code.FailedPrecondition, 'trustd already started');
      const w = watchFiles(options.certsDir, Object.values(TrustdFiles), onChange, {
        ...(options.certPollMs === undefined ? {} : { pollMs: options.certPollMs }),
        onError: (err) => log.warn('reading certificates failed', { error: err }),
      });
      watcher = w;
      const crt = w.initial[TrustdFiles.serverCrt];
      const key = w.initial[TrustdFiles.serverKey];
      let s: H2Server;
      try {
        material = materialOf(w.initial);
        if (crt === undefined || key === undefined) throw new TalosError(Code.FailedPrecondition, `certificates directory must hold ${TrustdFiles.serverCrt} and ${TrustdFiles.serverKey}`);
        createSecureContext({ minVersion: 'TLSv1.3', cert: crt, key });
        s = createH2Server({ tls: { certPem: crt, keyPem: key }, logger: log });
      } catch (err) {
        w[Symbol.dispose]();
        throw err;
      }
      s.register(CERTIFICATE_PATH, 'unary', (call) => {
        const m = material;
        if (m === undefined) throw new TalosError(Code.Unavailable, 'trustd has no CA loaded');
        // Before the request is even decoded: a refused source costs no more than this.
        authenticate(call, m);
        let req: securityPb.CertificateRequest;
        try {
          req = fromBinary(securityPb.CertificateRequestSchema, call.request);
        } catch (err) {
          throw new TalosError(Code.InvalidArgument, `malformed securityapi.CertificateRequest: ${(err as Error).message}`);
        }
        call.write(toBinary(securityPb.CertificateResponseSchema, create(securityPb.CertificateResponseSchema, certificate(req, call, m))));
        call.end();
      });
      let address: string;
      try {
        address = await s.listen(options.listen);
      } catch (err) {
        w[Symbol.dispose]();
        throw err;
      }
      server = s;
      log.info('listening', { address });
      return address;
    },
    close,
    [Symbol.asyncDispose]: () => close(),
  };
}
