import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the resource saying which role this machine has. */
export const MachineTypeType = 'MachineTypes.config.talos.dev';

/** Singleton id. */
export const MachineTypeId = 'machine-type';

/** The machine's role, as in the config's machine.type. */
export type MachineKind = 'controlplane' | 'worker' | 'init' | 'unknown';

/** Spec of MachineType. */
export interface MachineTypeSpec {
  readonly machineType: MachineKind;
}

/** The MachineType resource. */
export function newMachineType(spec: MachineTypeSpec): Resource<MachineTypeSpec> {
  return newResource({ namespace: NamespaceName.config, type: MachineTypeType }, MachineTypeId, spec);
}

/** Definition: `talosctl get machinetype`. */
export const machineTypeDefinition: ResourceDefinitionInput = {
  type: MachineTypeType,
  displayType: 'MachineType',
  defaultNamespace: NamespaceName.config,
  printColumns: [{ name: 'Type', jsonPath: '{.machineType}' }],
};
