import { newTalosconfig, type Talosconfig } from '../client/talosconfig.ts';
import { generateKey, privateKeyToPem } from './keys.ts';
import { issueCertificate, loadCertificateAuthority, type CertificateAuthority } from './x509.ts';
import type { PemCertificateAndKey } from './bundle.ts';

/** Upstream's lifetime of a Talos API client certificate: one year. */
export const ADMIN_CERT_VALIDITY_SECONDS = 365 * 24 * 3600;

/** Options of {@link generateClientCertificate}. */
export interface ClientCertificateOptions {
  /** The Talos OS CA (PEM pair from the secrets bundle, or a loaded CA). */
  readonly osCa: PemCertificateAndKey | CertificateAuthority;
  /** Roles go into the certificate's Organization; apid reads them from there. */
  readonly roles?: readonly string[];
  readonly validitySeconds?: number;
  readonly now?: Date;
}

function asCa(ca: PemCertificateAndKey | CertificateAuthority): CertificateAuthority {
  return 'cert' in ca ? ca : loadCertificateAuthority(ca.crt, ca.key);
}

/** A Talos API client certificate: key of the CA's type, ClientAuth only, roles as Organization. */
export async function generateClientCertificate(options: ClientCertificateOptions): Promise<PemCertificateAndKey> {
  const ca = asCa(options.osCa);
  const key = await generateKey(ca.key.type, { rsaBits: 4096 });
  const now = options.now ?? new Date();
  const notBefore = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const crt = issueCertificate(ca, {
    publicKey: key.publicKey,
    subject: { organizations: [...(options.roles ?? ['os:admin'])] },
    notBefore,
    notAfter: new Date(notBefore.getTime() + (options.validitySeconds ?? ADMIN_CERT_VALIDITY_SECONDS) * 1000),
    keyUsage: ['digitalSignature'],
    extKeyUsage: ['clientAuth'],
  });
  return { crt, key: privateKeyToPem(key) };
}

/** Options of {@link generateAdminTalosconfig}. */
export interface AdminTalosconfigOptions extends ClientCertificateOptions {
  readonly contextName: string;
  readonly endpoints: readonly string[];
  readonly nodes?: readonly string[];
}

/** A talosconfig with one context holding a fresh admin client certificate signed by the OS CA. */
export async function generateAdminTalosconfig(options: AdminTalosconfigOptions): Promise<Talosconfig> {
  const ca = asCa(options.osCa);
  const client = await generateClientCertificate({ ...options, osCa: ca });
  return newTalosconfig(options.contextName, {
    endpoints: options.endpoints,
    ...(options.nodes ? { nodes: options.nodes } : {}),
    caPem: ca.crtPem,
    crtPem: client.crt,
    keyPem: client.key,
  });
}
