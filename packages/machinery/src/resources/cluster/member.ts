import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import type { MachineKind } from '../config/machine-type.ts';
import { NamespaceName } from '../namespaces.ts';
import type { ControlPlaneSpec } from './affiliate.ts';

/** Type of a cluster member: an affiliate that is a Kubernetes node, keyed by its node name. */
export const MemberType = 'Members.cluster.talos.dev';

/** Spec of Member. */
export interface MemberSpec {
  readonly nodeId: string;
  readonly addresses: readonly string[];
  readonly hostname: string;
  readonly machineType: MachineKind;
  readonly operatingSystem: string;
  readonly controlPlane?: ControlPlaneSpec;
}

/** A Member resource (id = the node's Kubernetes node name). */
export function newMember(id: string, spec: MemberSpec): Resource<MemberSpec> {
  return newResource({ namespace: NamespaceName.cluster, type: MemberType }, id, spec);
}

/** Definition: `talosctl get members`. */
export const memberDefinition: ResourceDefinitionInput = {
  type: MemberType,
  displayType: 'Member',
  defaultNamespace: NamespaceName.cluster,
  printColumns: [
    { name: 'Hostname', jsonPath: '{.hostname}' },
    { name: 'Machine Type', jsonPath: '{.machineType}' },
    { name: 'OS', jsonPath: '{.operatingSystem}' },
    { name: 'Addresses', jsonPath: '{.addresses}' },
  ],
};
