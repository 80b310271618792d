import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the node's KubeSpan identity: its WireGuard key pair and mesh address. */
export const KubeSpanIdentityType = 'KubeSpanIdentities.kubespan.talos.dev';

/** Id of this node's own KubeSpan identity. */
export const KubeSpanLocalIdentityId = 'local';

/**
 * Spec of KubeSpanIdentity; the node caches it in STATE (upstream's kubespan-identity.yaml), so keep
 * the YAML field names stable.
 */
export interface KubeSpanIdentitySpec {
  /** The node's KubeSpan address as a /128 (EUI-64 of its first MAC inside `subnet`). */
  readonly address: string;
  /** The cluster's KubeSpan ULA /64. */
  readonly subnet: string;
  /** WireGuard private key, base64 as `wg` prints it. */
  readonly privateKey: string;
  readonly publicKey: string;
}

/** The KubeSpanIdentity resource in the `kubespan` namespace. */
export function newKubeSpanIdentity(id: string, spec: KubeSpanIdentitySpec): Resource<KubeSpanIdentitySpec> {
  return newResource({ namespace: NamespaceName.kubespan, type: KubeSpanIdentityType }, id, spec);
}

/** Definition: `talosctl get kubespanidentities` (admin only: it holds the private key). */
export const kubeSpanIdentityDefinition: ResourceDefinitionInput = {
  type: KubeSpanIdentityType,
  displayType: 'KubeSpanIdentity',
  defaultNamespace: NamespaceName.kubespan,
  printColumns: [
    { name: 'Address', jsonPath: '{.address}' },
    { name: 'PublicKey', jsonPath: '{.publicKey}' },
  ],
  sensitivity: 'sensitive',
};
