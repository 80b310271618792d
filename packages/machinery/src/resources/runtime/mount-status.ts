import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of a mounted file system as the node sees it. */
export const MountStatusType = 'MountStatuses.runtime.talos.dev';

/** Spec of MountStatus (field names as upstream). */
export interface MountStatusSpec {
  readonly source: string;
  readonly target: string;
  readonly filesystemType: string;
  readonly options: readonly string[];
  readonly encrypted: boolean;
}

/** A MountStatus; its id is the mount point. */
export function newMountStatus(spec: MountStatusSpec): Resource<MountStatusSpec> {
  return newResource({ namespace: NamespaceName.runtime, type: MountStatusType }, spec.target, spec);
}

/** Definition: `talosctl get mounts`. */
export const mountStatusDefinition: ResourceDefinitionInput = {
  type: MountStatusType,
  displayType: 'MountStatus',
  aliases: ['mounts', 'mount', 'mountstatus', 'mountstatuses'],
  defaultNamespace: NamespaceName.runtime,
  printColumns: [
    { name: 'Source', jsonPath: '{.source}' },
    { name: 'Target', jsonPath: '{.target}' },
    { name: 'Filesystem Type', jsonPath: '{.filesystemType}' },
    { name: 'Options', jsonPath: '{.options}' },
  ],
};
