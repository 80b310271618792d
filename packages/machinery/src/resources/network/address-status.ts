import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { Family, Scope } from './layer.ts';

/** Type of an address the kernel has. */
export const AddressStatusType = 'AddressStatuses.net.talos.dev';

/** Spec of AddressStatus; YAML names are upstream's. */
export interface AddressStatusSpec {
  readonly address: string;
  readonly local?: string;
  readonly broadcast?: string;
  readonly linkIndex: number;
  readonly linkName: string;
  readonly family: Family;
  readonly scope: Scope;
  readonly flags: string;
  readonly priority: number;
}

/** An AddressStatus, id `<link>/<cidr>`. */
export function newAddressStatus(id: string, spec: AddressStatusSpec): Resource<AddressStatusSpec> {
  return newResource({ namespace: NamespaceName.network, type: AddressStatusType }, id, spec);
}

/** Definition: `talosctl get addresses`. */
export const addressStatusDefinition: ResourceDefinitionInput = {
  type: AddressStatusType,
  displayType: 'AddressStatus',
  aliases: ['address', 'addresses'],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Address', jsonPath: '{.address}' },
    { name: 'Link', jsonPath: '{.linkName}' },
  ],
};
