import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of a peer endpoint proven to work, published back through discovery (id = the peer's public key). */
export const KubeSpanEndpointType = 'KubeSpanEndpoints.kubespan.talos.dev';

/** Spec of KubeSpanEndpoint. */
export interface KubeSpanEndpointSpec {
  /** The node id of the affiliate the endpoint belongs to (upstream's YAML key is `affiliateID`). */
  readonly affiliateID: string;
  /** `ip:port`. */
  readonly endpoint: string;
}

/** A KubeSpanEndpoint resource in the `kubespan` namespace. */
export function newKubeSpanEndpoint(id: string, spec: KubeSpanEndpointSpec): Resource<KubeSpanEndpointSpec> {
  return newResource({ namespace: NamespaceName.kubespan, type: KubeSpanEndpointType }, id, spec);
}

/** Definition: `talosctl get kubespanendpoints`. */
export const kubeSpanEndpointDefinition: ResourceDefinitionInput = {
  type: KubeSpanEndpointType,
  displayType: 'KubeSpanEndpoint',
  defaultNamespace: NamespaceName.kubespan,
  printColumns: [
    { name: 'Endpoint', jsonPath: '{.endpoint}' },
    { name: 'Affiliate ID', jsonPath: '{.affiliateID}' },
  ],
};
