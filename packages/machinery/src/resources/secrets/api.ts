import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the certificates apid serves and presents. */
export const ApiCertificatesType = 'ApiCertificates.secrets.talos.dev';

/** Singleton id. */
export const ApiCertificatesId = 'api';

/**
 * PEM certificates for apid: the CA to trust clients by, the server pair, and (control plane only)
 * a client pair for proxying to other nodes. Workers get a server certificate from trustd only,
 * as upstream, so their apid serves local calls.
 */
export interface ApiCertificatesSpec {
  readonly ca: string;
  readonly server: { readonly crt: string; readonly key: string };
  readonly client?: { readonly crt: string; readonly key: string };
  /** Unix ms after which the server certificate should be renewed (half its lifetime). */
  readonly renewAfter: number;
  /** Unix ms when the server certificate expires. */
  readonly notAfter: number;
  /** The SANs the server certificate was issued for; a change of them reissues it. */
  readonly sans: readonly string[];
}

/** The ApiCertificates resource in the `secrets` namespace. */
export function newApiCertificates(spec: ApiCertificatesSpec): Resource<ApiCertificatesSpec> {
  return newResource({ namespace: NamespaceName.secrets, type: ApiCertificatesType }, ApiCertificatesId, spec);
}

/** Definition: sensitive. */
export const apiCertificatesDefinition: ResourceDefinitionInput = {
  type: ApiCertificatesType,
  displayType: 'ApiCertificate',
  defaultNamespace: NamespaceName.secrets,
  sensitivity: 'sensitive',
};
