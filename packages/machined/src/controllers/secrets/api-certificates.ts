import { isIP } from 'node:net';
import { plainEqual, type Controller, type ControllerContext } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  ApiCertificatesId,
  ApiCertificatesType,
  HostnameId,
  HostnameStatusType,
  MachineConfigType,
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
  type HostnameStatusSpec,
  type KeyPair,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/** Upstream's API certificate lifetime; renewed at half-life. */
export const defaultApiCertificateLifetimeMs = 24 * 60 * 60 * 1000;

/** Options of {@link ApiCertificatesController}. */
export interface ApiCertificatesOptions {
  /** This node's addresses, all put in the server certificate's SANs. */
  readonly addresses: readonly string[];
  /** Certificate lifetime (tests shorten it to watch rotation). */
  readonly lifetimeMs?: number;
  /** Signs a CSR via trustd; defaults to the real client. */
  readonly requestCertificate?: typeof requestCertificate;
}

// Certificates start a minute in the past so a peer whose clock is slightly behind accepts them.
const clockSkewMs = 60_000;

const pem = (b64: string | undefined): string => (b64 ? Buffer.from(b64, 'base64').toString('utf8') : '');

/**
 * Keeps apid's certificates current: on control-plane nodes (which hold the OS CA key) it signs
 * them itself; on workers it asks trustd, presenting the machine token. Reissues when the SANs or
 * the CA change and at half of the lifetime.
 */
export class ApiCertificatesController implements Controller {
  readonly name = 'secrets.ApiCertificatesController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: ApiCertificatesType, kind: 'exclusive' as const }];
  readonly #options: ApiCertificatesOptions;

  constructor(options: ApiCertificatesOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const lifetimeMs = this.#options.lifetimeMs ?? defaultApiCertificateLifetimeMs;
    let retryMs = 500;
    for await (const _ of ctx.changes()) {
      const cfgRes = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
      const host = ctx.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId });
      if (!cfgRes || !host) continue;
      const cfg = machineConfigOf(cfgRes).config;
      const caPem = pem(cfg.machine?.ca?.crt);
      const sans = [
        ...new Set([...this.#options.addresses, '127.0.0.1', '::1', 'localhost', host.spec.hostname, fqdn(host.spec), ...(cfg.machine?.certSANs ?? [])]),
      ]
        .filter((s) => s !== '')
        .sort();
      const pointer = { namespace: NamespaceName.secrets, type: ApiCertificatesType, id: ApiCertificatesId };
      const current = ctx.find<ApiCertificatesSpec>(pointer);
      const now = ctx.clock.now();
      if (current && current.spec.ca === caPem && plainEqual(current.spec.sans, sans) && now < current.spec.renewAfter) {
        ctx.requeueAfter(current.spec.renewAfter - now);
        continue;
      }
      try {
        const spec = await this.#issue({ caPem, caKeyPem: pem(cfg.machine?.ca?.key), cfg, sans, hostname: fqdn(host.spec), now, lifetimeMs, signal: ctx.signal });
        ctx.modify<ApiCertificatesSpec>(pointer, spec, (d) => {
          d.spec = spec;
        });
        ctx.logger.info('API certificates issued', { sans: sans.join(','), validForMs: lifetimeMs });
        retryMs = 500;
        ctx.requeueAfter(spec.renewAfter - now);
      } catch (err) {
        if (ctx.signal.aborted) return;
        ctx.logger.warn('issuing API certificates failed, will retry', { error: err, retryInMs: retryMs });
        ctx.requeueAfter(retryMs);
        retryMs = Math.min(retryMs * 2, 30_000);
      }
    }
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
