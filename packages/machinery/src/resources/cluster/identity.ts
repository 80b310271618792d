import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the node's identity as a cluster member. */
export const IdentityType = 'Identities.cluster.talos.dev';

/** Id of this node's own identity. */
export const LocalIdentityId = 'local';

/** Spec of Identity; persisted on the node, so keep the YAML shape stable. */
export interface IdentitySpec {
  /** Random, kept across reboots, new after a reset. */
  readonly nodeId: string;
}

/** The Identity resource in the `cluster` namespace. */
export function newIdentity(id: string, spec: IdentitySpec): Resource<IdentitySpec> {
  return newResource({ namespace: NamespaceName.cluster, type: IdentityType }, id, spec);
}

/** Definition: `talosctl get identities`. */
export const identityDefinition: ResourceDefinitionInput = {
  type: IdentityType,
  displayType: 'Identity',
  defaultNamespace: NamespaceName.cluster,
  printColumns: [{ name: 'ID', jsonPath: '{.nodeId}' }],
};
