import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { ConfigLayer } from './layer.ts';

/** Type of the desired DNS resolvers. */
export const ResolverSpecType = 'ResolverSpecs.net.talos.dev';

/** Singleton id of the merged resolvers. */
export const ResolverId = 'resolvers';

/** Spec of ResolverSpec. */
export interface ResolverSpecSpec {
  readonly dnsServers: readonly string[];
  readonly searchDomains?: readonly string[];
  readonly layer: ConfigLayer;
}

/** A ResolverSpec in the given namespace. */
export function newResolverSpec(namespace: string, id: string, spec: ResolverSpecSpec): Resource<ResolverSpecSpec> {
  return newResource({ namespace, type: ResolverSpecType }, id, spec);
}

/** Definition: `talosctl get resolverspecs`. */
export const resolverSpecDefinition: ResourceDefinitionInput = {
  type: ResolverSpecType,
  displayType: 'ResolverSpec',
  aliases: [],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Layer', jsonPath: '{.layer}' },
    { name: 'Resolvers', jsonPath: '{.dnsServers}' },
    { name: 'Search Domains', jsonPath: '{.searchDomains}' },
  ],
};
