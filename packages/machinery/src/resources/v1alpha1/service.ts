import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the per-service status resources the supervisor publishes. */
export const ServiceType = 'Services.v1alpha1.talos.dev';

/** Observed state of one system service (id = service id, e.g. `apid`). */
export interface ServiceSpec {
  readonly running: boolean;
  readonly healthy: boolean;
  /** True while the service has no health check result yet (or has no health check). */
  readonly unknown: boolean;
}

/** A Service resource in the `runtime` namespace. */
export function newService(id: string, spec: ServiceSpec): Resource<ServiceSpec> {
  return newResource({ namespace: NamespaceName.runtime, type: ServiceType }, id, spec);
}

/** Definition: `talosctl get services` / `get svc`. */
export const serviceDefinition: ResourceDefinitionInput = {
  type: ServiceType,
  displayType: 'Service',
  aliases: ['svc'],
  defaultNamespace: NamespaceName.runtime,
  printColumns: [
    { name: 'Running', jsonPath: '{.running}' },
    { name: 'Healthy', jsonPath: '{.healthy}' },
    { name: 'Health Unknown', jsonPath: '{.unknown}' },
  ],
};
