import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the node's own addresses, as other parts of the OS should use them. */
export const NodeAddressType = 'NodeAddresses.net.talos.dev';

/** Ids upstream gives the node addresses. */
export const NodeAddressId = {
  /** The one address the node is known by (first of current). */
  default: 'default',
  /** Global addresses on the node now. */
  current: 'current',
  /** Every address the node has had since boot. */
  accumulative: 'accumulative',
  /** Current minus addresses of links that do not route (e.g. bridges for pods). */
  routed: 'routed',
} as const;

/** Spec of NodeAddress. */
export interface NodeAddressSpec {
  /** CIDRs. */
  readonly addresses: readonly string[];
  readonly sortAlgorithm: string;
}

/** A NodeAddress; filtered variants are `<id>-<filter>`. */
export function newNodeAddress(id: string, spec: NodeAddressSpec): Resource<NodeAddressSpec> {
  return newResource({ namespace: NamespaceName.network, type: NodeAddressType }, id, spec);
}

/** The bare IPs of a NodeAddress spec, without the prefix length. */
export function nodeIps(spec: NodeAddressSpec): string[] {
  return spec.addresses.map((a) => a.split('/')[0] ?? a);
}

/** Definition: `talosctl get nodeaddresses`. */
export const nodeAddressDefinition: ResourceDefinitionInput = {
  type: NodeAddressType,
  displayType: 'NodeAddress',
  aliases: [],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Addresses', jsonPath: '{.addresses}' },
    { name: 'SortAlgorithm', jsonPath: '{.sortAlgorithm}' },
  ],
};
