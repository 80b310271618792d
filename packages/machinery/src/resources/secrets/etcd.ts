import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the certificates the local etcd member serves and presents (upstream's `secrets.Etcd`). */
export const EtcdCertificatesType = 'EtcdCertificates.secrets.talos.dev';

/** Singleton id, as upstream. */
export const EtcdCertificatesId = 'etcd';

/** A PEM certificate and its PKCS#8 key. */
export interface PemPair {
  readonly crt: string;
  readonly key: string;
}

/**
 * etcd's TLS material on a control-plane node, all issued by the cluster's etcd CA: `server` for
 * the client port, `peer` for member-to-member traffic (both directions), and `admin`, the client
 * certificate machined (and Talos APIs) use to talk to etcd.
 */
export interface EtcdCertificatesSpec {
  readonly ca: string;
  readonly server: PemPair;
  readonly peer: PemPair;
  readonly admin: PemPair;
  /** Unix ms after which the certificates are reissued (half their lifetime). */
  readonly renewAfter: number;
  /** Unix ms when the certificates expire. */
  readonly notAfter: number;
  /** SANs the server and peer certificates carry; a change reissues them. */
  readonly sans: readonly string[];
}

/** The EtcdCertificates resource in the `secrets` namespace. */
export function newEtcdCertificates(spec: EtcdCertificatesSpec): Resource<EtcdCertificatesSpec> {
  return newResource({ namespace: NamespaceName.secrets, type: EtcdCertificatesType }, EtcdCertificatesId, spec);
}

/** Definition: sensitive (holds private keys). */
export const etcdCertificatesDefinition: ResourceDefinitionInput = {
  type: EtcdCertificatesType,
  displayType: 'EtcdCertificate',
  aliases: ['etcdsecrets'],
  defaultNamespace: NamespaceName.secrets,
  sensitivity: 'sensitive',
};
