import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the summary services wait on before they need the network. */
export const NetworkStatusType = 'NetworkStatuses.net.talos.dev';

/** Singleton id. */
export const NetworkStatusId = 'status';

/** Spec of NetworkStatus. */
export interface NetworkStatusSpec {
  readonly addressReady: boolean;
  readonly connectivityReady: boolean;
  readonly hostnameReady: boolean;
  readonly etcFilesReady: boolean;
}

/** The NetworkStatus singleton. */
export function newNetworkStatus(spec: NetworkStatusSpec): Resource<NetworkStatusSpec> {
  return newResource({ namespace: NamespaceName.network, type: NetworkStatusType }, NetworkStatusId, spec);
}

/** Definition: `talosctl get networkstatus` (also `netstatus`). */
export const networkStatusDefinition: ResourceDefinitionInput = {
  type: NetworkStatusType,
  displayType: 'NetworkStatus',
  aliases: ['netstatus', 'netstatuses'],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Address', jsonPath: '{.addressReady}' },
    { name: 'Connectivity', jsonPath: '{.connectivityReady}' },
    { name: 'Hostname', jsonPath: '{.hostnameReady}' },
    { name: 'Etc', jsonPath: '{.etcFilesReady}' },
  ],
};
