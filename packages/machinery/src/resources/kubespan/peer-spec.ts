import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of a KubeSpan peer as discovery describes it (id = the peer's public key). */
export const KubeSpanPeerSpecType = 'KubeSpanPeerSpecs.kubespan.talos.dev';

/** Spec of KubeSpanPeerSpec. */
export interface KubeSpanPeerSpecSpec {
  /** The peer's KubeSpan address (no prefix length). */
  readonly address: string;
  /** Prefixes routed to this peer, disjoint from every other peer's. */
  readonly allowedIPs: readonly string[];
  /** `ip:port` candidates tried in turn (IPv6 as `[ip]:port`). */
  readonly endpoints: readonly string[];
  /** The peer's node name. */
  readonly label: string;
}

/** A KubeSpanPeerSpec resource in the `kubespan` namespace. */
export function newKubeSpanPeerSpec(id: string, spec: KubeSpanPeerSpecSpec): Resource<KubeSpanPeerSpecSpec> {
  return newResource({ namespace: NamespaceName.kubespan, type: KubeSpanPeerSpecType }, id, spec);
}

/** Definition: `talosctl get kubespanpeerspecs`. */
export const kubeSpanPeerSpecDefinition: ResourceDefinitionInput = {
  type: KubeSpanPeerSpecType,
  displayType: 'KubeSpanPeerSpec',
  defaultNamespace: NamespaceName.kubespan,
  printColumns: [
    { name: 'Label', jsonPath: '{.label}' },
    { name: 'Endpoints', jsonPath: '{.endpoints}' },
  ],
};
