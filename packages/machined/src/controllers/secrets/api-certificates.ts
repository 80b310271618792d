import { isIP } from 'node:net';
import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  ApiCertificatesId,
  ApiCertificatesType,
  NamespaceName,
  Roles,
  createCsr,
  fqdn,
  generateKey,
  issueCertificate,
  loadCertificateAuthority,
  privateKeyToPkcs8Pem,
  requestCertificate,
  type ApiCertificatesSpec,
  type KeyPair,
} from '@talos-ts/machinery';
import type { machineConfigOf } from '../config/parse.ts';
import { certificateInputs, nodeSans, pemOf, runCertificateRenewal } from './renewal.ts';

/** Upstream's API certificate lifetime; renewed at half-life. */
export const defaultApiCertificateLifetimeMs = 24 * 60 * 60 * 1000;

/** Options of {@link ApiCertificatesController}. */
export interface ApiCertificatesOptions {
  /** Addresses the node is told it has (e.g. --address); NodeAddress `accumulative` adds the ones it finds. */
  readonly addresses: readonly string[];
  /** Certificate lifetime (tests shorten it to watch rotation). */
  readonly lifetimeMs?: number;
  /** Signs a CSR via trustd; defaults to the real client. */
  readonly requestCertificate?: typeof requestCertificate;
}

// Certificates start a minute in the past so a peer whose clock is slightly behind accepts them.
const clockSkewMs = 60_000;

/**
 * Keeps apid's certificates current: on control-plane nodes (which hold the OS CA key) it signs
 * them itself; on workers it asks trustd, presenting the machine token. Reissues when the SANs or
 * the CA change and at half of the lifetime.
 */
export class ApiCertificatesController implements Controller {
  readonly name = 'secrets.ApiCertificatesController';
  readonly inputs = certificateInputs;
  readonly outputs = [{ type: ApiCertificatesType, kind: 'exclusive' as const }];
  readonly #options: ApiCertificatesOptions;

  constructor(options: ApiCertificatesOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const lifetimeMs = this.#options.lifetimeMs ?? defaultApiCertificateLifetimeMs;
    await runCertificateRenewal<ApiCertificatesSpec>(ctx, {
      pointer: { namespace: NamespaceName.secrets, type: ApiCertificatesType, id: ApiCertificatesId },
      what: 'API certificates',
      wish: (cfg, host, found) => ({ caPem: pemOf(cfg.machine?.ca?.crt), sans: nodeSans([...this.#options.addresses, ...found], host, cfg.machine?.certSANs ?? []) }),
      issue: (wish, { config, hostname, nowMs, signal }) =>
        this.#issue({ caPem: wish.caPem, caKeyPem: pemOf(config.machine?.ca?.key), cfg: config, sans: wish.sans, hostname: fqdn(hostname), now: nowMs, lifetimeMs, signal }),
    });
  }

  async #issue(args: {
    caPem: string;
    caKeyPem: string;
    cfg: ReturnType<typeof machineConfigOf>['config'];
    sans: readonly string[];
    hostname: string;
    now: number;
    lifetimeMs: number;
    signal: AbortSignal;
  }): Promise<ApiCertificatesSpec> {
    const ipAddresses = args.sans.filter((s) => isIP(s) !== 0);
    const dnsNames = args.sans.filter((s) => isIP(s) === 0);
    const notBefore = new Date(args.now - clockSkewMs);
    const notAfter = new Date(args.now + args.lifetimeMs);
    const renewAfter = args.now + Math.floor(args.lifetimeMs / 2);
    const serverKey: KeyPair = await generateKey('ecdsa');
    if (args.caKeyPem !== '') {
      const ca = loadCertificateAuthority(args.caPem, args.caKeyPem);
      const clientKey = await generateKey('ed25519');
      const serverCrt = issueCertificate(ca, {
        publicKey: serverKey.publicKey,
        subject: { commonName: args.hostname },
        notBefore,
        notAfter,
        keyUsage: ['digitalSignature'],
        extKeyUsage: ['serverAuth'],
        dnsNames,
        ipAddresses,
      });
      const clientCrt = issueCertificate(ca, {
        publicKey: clientKey.publicKey,
        subject: { commonName: args.hostname, organizations: [Roles.impersonator] },
        notBefore,
        notAfter,
        keyUsage: ['digitalSignature'],
        extKeyUsage: ['clientAuth'],
      });
      return {
        ca: args.caPem,
        server: { crt: serverCrt, key: privateKeyToPkcs8Pem(serverKey) },
        client: { crt: clientCrt, key: privateKeyToPkcs8Pem(clientKey) },
        renewAfter,
        notAfter: notAfter.getTime(),
        sans: [...args.sans],
      };
    }
    // A worker: trustd on the control plane signs its server certificate.
    const endpoint = args.cfg.cluster?.controlPlane?.endpoint;
    const host = endpoint ? new URL(endpoint).hostname.replace(/^\[|\]$/g, '') : '';
    const token = args.cfg.machine?.token ?? '';
    // trustd signs server certificates only and drops any Organization, as upstream does.
    const csrPem = createCsr(serverKey, { subject: { commonName: args.hostname }, dnsNames, ipAddresses });
    const request = this.#options.requestCertificate ?? requestCertificate;
    const issued = await request({ endpoints: host ? [host] : [], token, csrPem, caPem: args.caPem, signal: args.signal });
    return {
      ca: args.caPem,
      server: { crt: issued.crtPem, key: privateKeyToPkcs8Pem(serverKey) },
      renewAfter,
      notAfter: notAfter.getTime(),
      sans: [...args.sans],
    };
  }
}
