// MachineService/Kubeconfig: the cluster's admin kubeconfig, made on request from the Kubernetes CA
// the control plane's config carries, as upstream does (nothing is stored on the node).

import { gzipSync } from 'node:zlib';
import { stringify as stringifyYaml } from 'yaml';
import { Code, TalosError } from '@talos-ts/cosi';
import { generateKey, issueCertificate, loadCertificateAuthority, privateKeyToPem, type V1Alpha1Config, type machinePb } from '@talos-ts/machinery';
import type { PartialImplementation } from './implement.ts';

/** Upstream's admin certificate subject: `CN=admin`, `O=system:masters` (cluster-admin through RBAC). */
export const KUBERNETES_ADMIN_COMMON_NAME = 'admin';
/** The Organization that makes the certificate a Kubernetes superuser. */
export const KUBERNETES_ADMIN_ORGANIZATION = 'system:masters';
/** Upstream's default lifetime of the admin certificate (cluster.adminKubeconfig.certLifetime): one year. */
export const KUBERNETES_ADMIN_CERT_DEFAULT_LIFETIME_MS = 365 * 24 * 3600 * 1000;
/** Clock skew tolerated between the node and the API server: the certificate is valid from a little earlier. */
const ALLOWED_TIME_SKEW_MS = 10_000;

/** Parses a Go duration ("8760h", "1h30m", "90s") as the config's certLifetime is written. */
function goDurationMs(text: string): number {
  const unit: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let consumed = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(m[1]) * (unit[m[2] ?? 's'] ?? 0);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== text.length) {
    throw new TalosError(Code.FailedPrecondition, `cluster.adminKubeconfig.certLifetime: invalid duration ${JSON.stringify(text)}`);
  }
  return total;
}

const fromBase64 = (b64: string | undefined): string => Buffer.from(b64 ?? '', 'base64').toString('utf8');

/** Options of {@link generateAdminKubeconfig}. */
export interface AdminKubeconfigOptions {
  readonly now?: Date;
}

/** The admin kubeconfig YAML for the cluster in `config` (a control plane's: it needs the Kubernetes CA key). */
export async function generateAdminKubeconfig(config: V1Alpha1Config, options: AdminKubeconfigOptions = {}): Promise<string> {
  const cluster = config.cluster;
  const caPem = fromBase64(cluster?.ca?.crt);
  const caKeyPem = fromBase64(cluster?.ca?.key);
  if (!cluster || caPem === '' || caKeyPem === '') {
    throw new TalosError(Code.FailedPrecondition, 'kubeconfig is only available on control plane nodes: cluster.ca has no key here');
  }
  const endpoint = cluster.controlPlane.endpoint;
  const name = cluster.clusterName || 'kubernetes';
  const ca = loadCertificateAuthority(caPem, caKeyPem);
  const lifetimeMs = cluster.adminKubeconfig?.certLifetime ? goDurationMs(cluster.adminKubeconfig.certLifetime) : KUBERNETES_ADMIN_CERT_DEFAULT_LIFETIME_MS;
  const now = options.now ?? new Date();
  const key = await generateKey(ca.key.type, { rsaBits: 2048 });
  const crt = issueCertificate(ca, {
    publicKey: key.publicKey,
    subject: { commonName: KUBERNETES_ADMIN_COMMON_NAME, organizations: [KUBERNETES_ADMIN_ORGANIZATION] },
    notBefore: new Date(Math.floor((now.getTime() - ALLOWED_TIME_SKEW_MS) / 1000) * 1000),
    notAfter: new Date(Math.floor((now.getTime() + lifetimeMs) / 1000) * 1000),
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    extKeyUsage: ['clientAuth'],
  });
  // The server is trusted through the issuing CA and every extra accepted one, as upstream bundles them.
  const trusted = [caPem, ...(cluster.acceptedCAs ?? []).map((c) => fromBase64(c.crt))].map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join('');
  const user = `admin@${name}`;
  const b64 = (text: string): string => Buffer.from(text).toString('base64');
  // Key order as client-go writes a kubeconfig.
  return stringifyYaml(
    {
      apiVersion: 'v1',
      clusters: [{ cluster: { 'certificate-authority-data': b64(trusted), server: endpoint }, name }],
      contexts: [{ context: { cluster: name, namespace: 'default', user }, name: user }],
      'current-context': user,
      kind: 'Config',
      preferences: {},
      users: [{ name: user, user: { 'client-certificate-data': b64(crt), 'client-key-data': b64(privateKeyToPem(key)) } }],
    },
    { lineWidth: 0 },
  );
}

/**
 * One regular file as a gzipped POSIX tar, the shape upstream's Copy stream (and so the kubeconfig
 * reply) has. Written here rather than with a tar library: one header block and padding is all it
 * takes, and the node ships no other tar writer.
 */
export function tarGzOneFile(name: string, data: Uint8Array, options: { mode?: number; mtime?: Date } = {}): Buffer {
  const header = Buffer.alloc(512);
  const field = (offset: number, length: number, value: string): void => void header.write(value, offset, length, 'ascii');
  const octal = (offset: number, length: number, value: number): void => field(offset, length, `${value.toString(8).padStart(length - 1, '0')}\0`);
  if (Buffer.byteLength(name) > 100) throw new TalosError(Code.Internal, `tar: name ${JSON.stringify(name)} is too long`);
  field(0, 100, name);
  octal(100, 8, options.mode ?? 0o600);
  octal(108, 8, 0);
  octal(116, 8, 0);
  octal(124, 12, data.length);
  octal(136, 12, Math.floor((options.mtime ?? new Date()).getTime() / 1000));
  field(148, 8, '        '); // the checksum is computed with its own field as spaces
  field(156, 1, '0');
  field(257, 6, 'ustar\0');
  field(263, 2, '00');
  let sum = 0;
  for (const b of header) sum += b;
  field(148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  const padding = Buffer.alloc((512 - (data.length % 512)) % 512);
  return gzipSync(Buffer.concat([header, data, padding, Buffer.alloc(1024)]));
}

/** What the Kubeconfig handler needs from the node: its active machine config, if any. */
export interface KubeconfigBackend {
  activeConfig(): V1Alpha1Config | undefined;
}

/** The MachineService Kubeconfig handler (os:admin only, by the RBAC table). */
export function createKubeconfigService(backend: KubeconfigBackend): PartialImplementation<typeof machinePb.MachineService> {
  return {
    async *kubeconfig() {
      const config = backend.activeConfig();
      if (!config) throw new TalosError(Code.FailedPrecondition, 'kubeconfig: the node has no configuration yet');
      if (config.machine?.type === 'worker') throw new TalosError(Code.FailedPrecondition, 'kubeconfig is only available on control plane nodes');
      const yaml = await generateAdminKubeconfig(config);
      yield { bytes: tarGzOneFile('kubeconfig', Buffer.from(yaml)) };
    },
  };
}
