import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the observed hostname. */
export const HostnameStatusType = 'HostnameStatuses.net.talos.dev';

/** Singleton id. */
export const HostnameId = 'hostname';

/** Spec of HostnameStatus. */
export interface HostnameStatusSpec {
  readonly hostname: string;
  readonly domainname: string;
}

/** The HostnameStatus resource. */
export function newHostnameStatus(spec: HostnameStatusSpec): Resource<HostnameStatusSpec> {
  return newResource({ namespace: NamespaceName.network, type: HostnameStatusType }, HostnameId, spec);
}

/** The fully qualified name: hostname plus domain when there is one. */
export function fqdn(spec: HostnameStatusSpec): string {
  return spec.domainname === '' ? spec.hostname : `${spec.hostname}.${spec.domainname}`;
}

/** Definition: `talosctl get hostname`. */
export const hostnameStatusDefinition: ResourceDefinitionInput = {
  type: HostnameStatusType,
  displayType: 'HostnameStatus',
  aliases: ['hostname'],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Hostname', jsonPath: '{.hostname}' },
    { name: 'Domainname', jsonPath: '{.domainname}' },
  ],
};
