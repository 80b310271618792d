import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { Family, Scope } from './layer.ts';

/** Type of a route the kernel has. */
export const RouteStatusType = 'RouteStatuses.net.talos.dev';

/** Spec of RouteStatus; YAML names are upstream's. */
export interface RouteStatusSpec {
  readonly family: Family;
  readonly dst: string;
  readonly src: string;
  readonly gateway: string;
  readonly outLinkIndex?: number;
  readonly outLinkName?: string;
  readonly table: string;
  readonly priority: number;
  readonly scope: Scope;
  readonly type: string;
  readonly flags: string;
  readonly protocol: string;
  readonly mtu?: number;
}

/** A RouteStatus. */
export function newRouteStatus(id: string, spec: RouteStatusSpec): Resource<RouteStatusSpec> {
  return newResource({ namespace: NamespaceName.network, type: RouteStatusType }, id, spec);
}

/** Definition: `talosctl get routes`. */
export const routeStatusDefinition: ResourceDefinitionInput = {
  type: RouteStatusType,
  displayType: 'RouteStatus',
  aliases: ['route', 'routes'],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Destination', jsonPath: '{.dst}' },
    { name: 'Gateway', jsonPath: '{.gateway}' },
    { name: 'Link', jsonPath: '{.outLinkName}' },
    { name: 'Metric', jsonPath: '{.priority}' },
  ],
};
