import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of a filter that derives `<id>-<filter>` NodeAddresses (e.g. excluding the pod network). */
export const NodeAddressFilterType = 'NodeAddressFilters.net.talos.dev';

/** Spec of NodeAddressFilter. */
export interface NodeAddressFilterSpec {
  readonly includeSubnets: readonly string[];
  readonly excludeSubnets: readonly string[];
}

/** A NodeAddressFilter. */
export function newNodeAddressFilter(id: string, spec: NodeAddressFilterSpec): Resource<NodeAddressFilterSpec> {
  return newResource({ namespace: NamespaceName.network, type: NodeAddressFilterType }, id, spec);
}

/** Definition: `talosctl get nodeaddressfilters`. */
export const nodeAddressFilterDefinition: ResourceDefinitionInput = {
  type: NodeAddressFilterType,
  displayType: 'NodeAddressFilter',
  aliases: [],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Include Subnets', jsonPath: '{.includeSubnets}' },
    { name: 'Exclude Subnets', jsonPath: '{.excludeSubnets}' },
  ],
};
