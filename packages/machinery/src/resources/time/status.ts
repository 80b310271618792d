import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the time sync status (upstream's TimeStatuses.v1alpha1.talos.dev). */
export const TimeStatusType = 'TimeStatuses.v1alpha1.talos.dev';

/** Singleton id. */
export const TimeStatusId = 'node';

/** Spec of TimeStatus, field for field upstream's. */
export interface TimeStatusSpec {
  /** The clock has been synchronised (always true when sync is disabled). */
  readonly synced: boolean;
  /** Incremented each time the clock jumps by more than 15 minutes. */
  readonly epoch: number;
  /** Time sync is off (machine.time.disabled, or container mode). */
  readonly syncDisabled: boolean;
}

/** The TimeStatus resource. */
export function newTimeStatus(spec: TimeStatusSpec): Resource<TimeStatusSpec> {
  return newResource({ namespace: NamespaceName.runtime, type: TimeStatusType }, TimeStatusId, spec);
}

/** Definition: `talosctl get timestatus`. */
export const timeStatusDefinition: ResourceDefinitionInput = {
  type: TimeStatusType,
  displayType: 'TimeStatus',
  defaultNamespace: NamespaceName.runtime,
  printColumns: [{ name: 'Synced', jsonPath: '{.synced}' }],
};
