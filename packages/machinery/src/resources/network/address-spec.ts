import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { ConfigLayer, Family, Scope } from './layer.ts';

/** Type of a desired address (in `network-config` one per source, merged into `network`). */
export const AddressSpecType = 'AddressSpecs.net.talos.dev';

/** Spec of AddressSpec; YAML names are upstream's. */
export interface AddressSpecSpec {
  /** CIDR, e.g. `10.0.0.2/24`. */
  readonly address: string;
  readonly linkName: string;
  readonly family: Family;
  readonly scope: Scope;
  /** Kernel address flags, e.g. `permanent`. */
  readonly flags: string;
  readonly announceWithARP?: boolean;
  readonly priority?: number;
  readonly layer: ConfigLayer;
}

/** The id upstream gives an address: `<link>/<cidr>`. */
export function addressId(linkName: string, address: string): string {
  return `${linkName}/${address}`;
}

/** An AddressSpec in the given namespace (`network-config` with a `<layer>/` id prefix, or `network`). */
export function newAddressSpec(namespace: string, id: string, spec: AddressSpecSpec): Resource<AddressSpecSpec> {
  return newResource({ namespace, type: AddressSpecType }, id, spec);
}

/** Definition: `talosctl get addressspecs`. */
export const addressSpecDefinition: ResourceDefinitionInput = {
  type: AddressSpecType,
  displayType: 'AddressSpec',
  aliases: [],
  defaultNamespace: NamespaceName.network,
};
