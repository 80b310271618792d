import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { ConfigLayer } from './layer.ts';

/** Type of the desired NTP servers. */
export const TimeServerSpecType = 'TimeServerSpecs.net.talos.dev';

/** Singleton id of the merged time servers. */
export const TimeServerId = 'timeservers';

/** Spec of TimeServerSpec (upstream's YAML calls the list `timeServers`). */
export interface TimeServerSpecSpec {
  readonly timeServers: readonly string[];
  readonly useNTS?: boolean;
  readonly layer: ConfigLayer;
}

/** A TimeServerSpec in the given namespace. */
export function newTimeServerSpec(namespace: string, id: string, spec: TimeServerSpecSpec): Resource<TimeServerSpecSpec> {
  return newResource({ namespace, type: TimeServerSpecType }, id, spec);
}

/** Definition: `talosctl get timeserverspecs`. */
export const timeServerSpecDefinition: ResourceDefinitionInput = {
  type: TimeServerSpecType,
  displayType: 'TimeServerSpec',
  aliases: [],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Timeservers', jsonPath: '{.timeServers}' },
    { name: 'UseNTS', jsonPath: '{.useNTS}' },
  ],
};
