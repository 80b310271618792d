import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import { ResolverId } from './resolver-spec.ts';

/** Type of the resolvers in effect. */
export const ResolverStatusType = 'ResolverStatuses.net.talos.dev';

/** Spec of ResolverStatus. */
export interface ResolverStatusSpec {
  readonly dnsServers: readonly string[];
  readonly searchDomains: readonly string[];
}

/** The ResolverStatus singleton. */
export function newResolverStatus(spec: ResolverStatusSpec): Resource<ResolverStatusSpec> {
  return newResource({ namespace: NamespaceName.network, type: ResolverStatusType }, ResolverId, spec);
}

/** Definition: `talosctl get resolvers`. */
export const resolverStatusDefinition: ResourceDefinitionInput = {
  type: ResolverStatusType,
  displayType: 'ResolverStatus',
  aliases: ['resolvers'],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Resolvers', jsonPath: '{.dnsServers}' },
    { name: 'Search Domains', jsonPath: '{.searchDomains}' },
  ],
};
