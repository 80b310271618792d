import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the discovery settings derived from the machine config. */
export const DiscoveryConfigType = 'DiscoveryConfigs.cluster.talos.dev';

/** Singleton id (upstream: `cluster`). */
export const DiscoveryConfigId = 'cluster';

/** Spec of DiscoveryConfig; sensitive because it carries the cluster's encryption key. */
export interface DiscoveryConfigSpec {
  readonly discoveryEnabled: boolean;
  readonly registryKubernetesEnabled: boolean;
  readonly registryServiceEnabled: boolean;
  /** `host:port` of the discovery service (port defaulted from the URL scheme). */
  readonly serviceEndpoint: string;
  /** The configured URL was http://: plaintext gRPC (local test servers). */
  readonly serviceEndpointInsecure: boolean;
  /** The AES key sealing affiliate data: cluster.secret, base64 as in the config. */
  readonly serviceEncryptionKey: string;
  readonly serviceClusterID: string;
}

/** The DiscoveryConfig resource in the `config` namespace. */
export function newDiscoveryConfig(spec: DiscoveryConfigSpec): Resource<DiscoveryConfigSpec> {
  return newResource({ namespace: NamespaceName.config, type: DiscoveryConfigType }, DiscoveryConfigId, spec);
}

/** Definition: `talosctl get discoveryconfigs` (admin only). */
export const discoveryConfigDefinition: ResourceDefinitionInput = {
  type: DiscoveryConfigType,
  displayType: 'DiscoveryConfig',
  defaultNamespace: NamespaceName.config,
  printColumns: [],
  sensitivity: 'sensitive',
};
