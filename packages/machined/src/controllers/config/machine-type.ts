import { createTransformController, type Controller } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  MachineConfigType,
  MachineTypeId,
  MachineTypeType,
  NamespaceName,
  type MachineConfigSpec,
  type MachineKind,
  type MachineTypeSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from './parse.ts';

/** Publishes the machine's role (controlplane/worker) from the active config. */
export function createMachineTypeController(): Controller {
  return createTransformController<MachineConfigSpec, MachineTypeSpec>({
    name: 'config.MachineTypeController',
    input: { namespace: NamespaceName.config, type: MachineConfigType },
    output: { namespace: NamespaceName.config, type: MachineTypeType },
    transform: (r) => {
      if (r.metadata.id !== ActiveMachineConfigId) return undefined;
      const type = (machineConfigOf(r).config.machine?.type ?? 'unknown') as MachineKind;
      return { id: MachineTypeId, spec: { machineType: type } };
    },
  });
}
