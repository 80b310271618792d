import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { ConfigLayer } from './layer.ts';

/** Type of an operator to run on a link (DHCPv4, DHCPv6, VIP). */
export const OperatorSpecType = 'OperatorSpecs.net.talos.dev';

/** Upstream's operator names. */
export type OperatorKind = 'dhcp4' | 'dhcp6' | 'vip';

/** Spec of OperatorSpec; YAML names are upstream's. */
export interface OperatorSpecSpec {
  readonly operator: OperatorKind;
  readonly linkName: string;
  readonly requireUp: boolean;
  readonly dhcp4?: { readonly routeMetric: number; readonly skipHostnameRequest?: boolean };
  readonly dhcp6?: { readonly routeMetric: number; readonly skipHostnameRequest?: boolean };
  readonly vip?: { readonly ip: string; readonly gratuitousARP: boolean };
  readonly layer: ConfigLayer;
}

/** The id upstream gives an operator: `<operator>/<link>`. */
export function operatorId(operator: OperatorKind, linkName: string): string {
  return `${operator}/${linkName}`;
}

/** An OperatorSpec in the given namespace. */
export function newOperatorSpec(namespace: string, id: string, spec: OperatorSpecSpec): Resource<OperatorSpecSpec> {
  return newResource({ namespace, type: OperatorSpecType }, id, spec);
}

/** Definition: `talosctl get operatorspecs`. */
export const operatorSpecDefinition: ResourceDefinitionInput = {
  type: OperatorSpecType,
  displayType: 'OperatorSpec',
  aliases: [],
  defaultNamespace: NamespaceName.network,
};
