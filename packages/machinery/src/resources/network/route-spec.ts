import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { ConfigLayer, Family, Scope } from './layer.ts';

/** Type of a desired route. */
export const RouteSpecType = 'RouteSpecs.net.talos.dev';

/** Spec of RouteSpec; YAML names are upstream's (`dst`, `src`, `gateway`, …). */
export interface RouteSpecSpec {
  readonly family: Family;
  /** CIDR; empty for the default route. */
  readonly dst: string;
  /** Preferred source address; empty for none. */
  readonly src: string;
  /** Empty for a link-scoped route. */
  readonly gateway: string;
  readonly outLinkName?: string;
  /** `main`, `local`, or a number as text. */
  readonly table: string;
  /** The metric. */
  readonly priority?: number;
  readonly scope: Scope;
  readonly type: string;
  readonly flags: string;
  /** `static`, `boot`, `dhcp`, … */
  readonly protocol: string;
  readonly mtu?: number;
  readonly layer: ConfigLayer;
}

/** The id upstream gives a route: `<family>/<gateway>/<dst>/<priority>` (table appended when not main). */
export function routeId(spec: Pick<RouteSpecSpec, 'family' | 'gateway' | 'dst' | 'priority' | 'table'>): string {
  const id = `${spec.family}/${spec.gateway}/${spec.dst}/${spec.priority ?? 0}`;
  return spec.table === 'main' ? id : `${spec.table}/${id}`;
}

/** A RouteSpec in the given namespace. */
export function newRouteSpec(namespace: string, id: string, spec: RouteSpecSpec): Resource<RouteSpecSpec> {
  return newResource({ namespace, type: RouteSpecType }, id, spec);
}

/** Definition: `talosctl get routespecs`. */
export const routeSpecDefinition: ResourceDefinitionInput = {
  type: RouteSpecType,
  displayType: 'RouteSpec',
  aliases: [],
  defaultNamespace: NamespaceName.network,
};
