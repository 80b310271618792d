import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import { TimeServerId } from './timeserver-spec.ts';

/** Type of the NTP servers in effect (what timed uses). */
export const TimeServerStatusType = 'TimeServerStatuses.net.talos.dev';

/** Spec of TimeServerStatus. */
export interface TimeServerStatusSpec {
  readonly timeServers: readonly string[];
  readonly useNTS: boolean;
}

/** The TimeServerStatus singleton. */
export function newTimeServerStatus(spec: TimeServerStatusSpec): Resource<TimeServerStatusSpec> {
  return newResource({ namespace: NamespaceName.network, type: TimeServerStatusType }, TimeServerId, spec);
}

/** Definition: `talosctl get timeservers`. */
export const timeServerStatusDefinition: ResourceDefinitionInput = {
  type: TimeServerStatusType,
  displayType: 'TimeServerStatus',
  aliases: ['timeserver', 'timeservers'],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Timeservers', jsonPath: '{.timeServers}' },
    { name: 'UseNTS', jsonPath: '{.useNTS}' },
  ],
};
