import { isIP } from 'node:net';
import { generateKey, issueCertificate, loadCertificateAuthority, privateKeyToPkcs8Pem, type EtcdCertificatesSpec } from '@talos-ts/machinery';

/** Options of {@link issueEtcdCertificates}. */
export interface IssueEtcdCertificatesOptions {
  /** The etcd CA (cluster.etcd.ca), PEM. */
  readonly caPem: string;
  readonly caKeyPem: string;
  /** The member's name (its hostname): the certificates' common name. */
  readonly hostname: string;
  /** IP addresses and DNS names the server and peer certificates are valid for. */
  readonly sans: readonly string[];
  /** Unix ms the certificates are issued at. */
  readonly nowMs: number;
  readonly lifetimeMs: number;
}

// Certificates start a minute in the past so a peer whose clock is slightly behind accepts them.
const clockSkewMs = 60_000;

/**
 * Issues a control-plane node's etcd certificates from the etcd CA, with ECDSA keys. Server and
 * peer certificates carry both serverAuth and clientAuth: etcd presents the peer certificate when
 * dialling other members, and its gRPC gateway dials the client port with the server certificate.
 * The admin certificate is a client certificate only.
 */
export async function issueEtcdCertificates(options: IssueEtcdCertificatesOptions): Promise<EtcdCertificatesSpec> {
  const ca = loadCertificateAuthority(options.caPem, options.caKeyPem);
  const sans = [...new Set(options.sans)].filter((s) => s !== '').sort();
  const ipAddresses = sans.filter((s) => isIP(s) !== 0);
  const dnsNames = sans.filter((s) => isIP(s) === 0);
  const notBefore = new Date(options.nowMs - clockSkewMs);
  const notAfter = new Date(options.nowMs + options.lifetimeMs);
  const [serverKey, peerKey, adminKey] = await Promise.all([generateKey('ecdsa'), generateKey('ecdsa'), generateKey('ecdsa')]);
  const both = { notBefore, notAfter, keyUsage: ['digitalSignature', 'keyEncipherment'] as const, extKeyUsage: ['serverAuth', 'clientAuth'] as const, dnsNames, ipAddresses };
  const server = issueCertificate(ca, { ...both, publicKey: serverKey.publicKey, subject: { commonName: options.hostname } });
  const peer = issueCertificate(ca, { ...both, publicKey: peerKey.publicKey, subject: { commonName: options.hostname } });
  const admin = issueCertificate(ca, {
    publicKey: adminKey.publicKey,
    subject: { commonName: 'talos' },
    notBefore,
    notAfter,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['clientAuth'],
  });
  return {
    ca: options.caPem,
    server: { crt: server, key: privateKeyToPkcs8Pem(serverKey) },
    peer: { crt: peer, key: privateKeyToPkcs8Pem(peerKey) },
    admin: { crt: admin, key: privateKeyToPkcs8Pem(adminKey) },
    renewAfter: options.nowMs + Math.floor(options.lifetimeMs / 2),
    notAfter: notAfter.getTime(),
    sans,
  };
}
