import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the resource holding the machine configuration the node runs. */
export const MachineConfigType = 'MachineConfigs.config.talos.dev';

/** Id of the active v1alpha1 configuration. */
export const ActiveMachineConfigId = 'v1alpha1';

/** Id of a configuration staged for the next boot (apply-config --mode staged). */
export const StagedMachineConfigId = 'staged';

/** The machine configuration: its YAML text exactly as applied (comments kept). */
export interface MachineConfigSpec {
  readonly yaml: string;
}

/** A MachineConfig resource in the `config` namespace. */
export function newMachineConfig(id: string, spec: MachineConfigSpec): Resource<MachineConfigSpec> {
  return newResource({ namespace: NamespaceName.config, type: MachineConfigType }, id, spec);
}

/** Definition: sensitive (holds keys and tokens), readable by os:admin only. */
export const machineConfigDefinition: ResourceDefinitionInput = {
  type: MachineConfigType,
  displayType: 'MachineConfig',
  defaultNamespace: NamespaceName.config,
  sensitivity: 'sensitive',
};
