import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the Kubernetes node name this machine registers as. */
export const NodenameType = 'Nodenames.kubernetes.talos.dev';

/** Singleton id. */
export const NodenameId = 'nodename';

/** Spec of Nodename. */
export interface NodenameSpec {
  readonly nodename: string;
  /** Version of the HostnameStatus it was derived from, so consumers can tell it is current. */
  readonly hostnameVersion: string;
}

/** The Nodename resource in the `k8s` namespace. */
export function newNodename(spec: NodenameSpec): Resource<NodenameSpec> {
  return newResource({ namespace: NamespaceName.k8s, type: NodenameType }, NodenameId, spec);
}

/** Definition: `talosctl get nodename`. */
export const nodenameDefinition: ResourceDefinitionInput = {
  type: NodenameType,
  displayType: 'Nodename',
  defaultNamespace: NamespaceName.k8s,
  printColumns: [{ name: 'Nodename', jsonPath: '{.nodename}' }],
};
