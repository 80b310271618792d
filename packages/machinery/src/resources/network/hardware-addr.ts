import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of a physical link's hardware address (upstream's HardwareAddr). */
export const HardwareAddrType = 'HardwareAddresses.net.talos.dev';

/** Id of the first physical link's address, by link name (upstream's network.FirstHardwareAddr). */
export const FirstHardwareAddrId = 'first';

/** Spec of HardwareAddr; YAML names are upstream's. */
export interface HardwareAddrSpec {
  /** The link it was read from. */
  readonly name: string;
  /** `aa:bb:cc:dd:ee:ff`. */
  readonly hardwareAddr: string;
}

/** A HardwareAddr in `network`. */
export function newHardwareAddr(id: string, spec: HardwareAddrSpec): Resource<HardwareAddrSpec> {
  return newResource({ namespace: NamespaceName.network, type: HardwareAddrType }, id, spec);
}

/** Definition: `talosctl get hardwareaddresses` (upstream has no aliases nor columns). */
export const hardwareAddrDefinition: ResourceDefinitionInput = {
  type: HardwareAddrType,
  displayType: 'HardwareAddr',
  aliases: [],
  defaultNamespace: NamespaceName.network,
};
