import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of a KubeSpan peer as the WireGuard link sees it (id = the peer's public key). */
export const KubeSpanPeerStatusType = 'KubeSpanPeerStatuses.kubespan.talos.dev';

/** Upstream's PeerState names, as its YAML prints them. */
export type KubeSpanPeerState = 'unknown' | 'up' | 'down';

/** Spec of KubeSpanPeerStatus. Times are RFC 3339; the zero time is upstream's `0001-01-01T00:00:00Z`. */
export interface KubeSpanPeerStatusSpec {
  /** The endpoint in use (`ip:port`), empty when none. */
  readonly endpoint: string;
  readonly label: string;
  readonly state: KubeSpanPeerState;
  readonly receiveBytes: number;
  readonly transmitBytes: number;
  readonly lastHandshakeTime: string;
  /** The endpoint last set on the link by rotation. */
  readonly lastUsedEndpoint: string;
  readonly lastEndpointChange: string;
}

/** A KubeSpanPeerStatus resource in the `kubespan` namespace. */
export function newKubeSpanPeerStatus(id: string, spec: KubeSpanPeerStatusSpec): Resource<KubeSpanPeerStatusSpec> {
  return newResource({ namespace: NamespaceName.kubespan, type: KubeSpanPeerStatusType }, id, spec);
}

/** Definition: `talosctl get kubespanpeerstatuses`. */
export const kubeSpanPeerStatusDefinition: ResourceDefinitionInput = {
  type: KubeSpanPeerStatusType,
  displayType: 'KubeSpanPeerStatus',
  defaultNamespace: NamespaceName.kubespan,
  printColumns: [
    { name: 'Label', jsonPath: '{.label}' },
    { name: 'Endpoint', jsonPath: '{.endpoint}' },
    { name: 'State', jsonPath: '{.state}' },
    { name: 'Rx', jsonPath: '{.receiveBytes}' },
    { name: 'Tx', jsonPath: '{.transmitBytes}' },
  ],
};
