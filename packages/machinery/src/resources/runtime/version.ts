import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the resource holding the running Talos-TS version. */
export const VersionType = 'Versions.runtime.talos.dev';

/** Singleton id. */
export const VersionId = 'version';

/** Spec of Version. */
export interface VersionSpec {
  readonly version: string;
}

/** The Version resource. */
export function newVersion(spec: VersionSpec): Resource<VersionSpec> {
  return newResource({ namespace: NamespaceName.runtime, type: VersionType }, VersionId, spec);
}

/** Definition: `talosctl get version`. */
export const versionDefinition: ResourceDefinitionInput = {
  type: VersionType,
  displayType: 'Version',
  defaultNamespace: NamespaceName.runtime,
  printColumns: [{ name: 'Version', jsonPath: '{.version}' }],
};
