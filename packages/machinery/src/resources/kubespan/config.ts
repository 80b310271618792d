import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the KubeSpan settings derived from the machine config. */
export const KubeSpanConfigType = 'KubeSpanConfigs.kubespan.talos.dev';

/** Singleton id (upstream: `kubespan`). */
export const KubeSpanConfigId = 'kubespan';

/** Spec of KubeSpanConfig; sensitive because it carries the cluster secret. */
export interface KubeSpanConfigSpec {
  readonly enabled: boolean;
  readonly clusterId: string;
  readonly sharedSecret: string;
  /** `!allowDownPeerBypass`: traffic for a down peer still goes to the link (and is dropped). */
  readonly forceRouting: boolean;
  readonly advertiseKubernetesNetworks: boolean;
  /** The link MTU (1420 unless configured). */
  readonly mtu: number;
  /** CIDRs, `!`-negated ones exclude. */
  readonly endpointFilters: readonly string[];
  readonly harvestExtraEndpoints: boolean;
  /** `ip:port` announced besides the node's own addresses. */
  readonly extraEndpoints: readonly string[];
  readonly excludeAdvertisedNetworks: readonly string[];
}

/** The KubeSpanConfig resource; upstream keeps it in the `config` namespace. */
export function newKubeSpanConfig(spec: KubeSpanConfigSpec): Resource<KubeSpanConfigSpec> {
  return newResource({ namespace: NamespaceName.config, type: KubeSpanConfigType }, KubeSpanConfigId, spec);
}

/** Definition: `talosctl get kubespanconfigs` (admin only). */
export const kubeSpanConfigDefinition: ResourceDefinitionInput = {
  type: KubeSpanConfigType,
  displayType: 'KubeSpanConfig',
  defaultNamespace: NamespaceName.config,
  printColumns: [],
  sensitivity: 'sensitive',
};
