import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the state of a volume the node manages (upstream's block.VolumeStatus). */
export const VolumeStatusType = 'VolumeStatuses.block.talos.dev';

/** Upstream's volume phases that we report. */
export type VolumePhase = 'waiting' | 'missing' | 'located' | 'provisioned' | 'prepared' | 'ready' | 'closed' | 'failed';

/** Spec of VolumeStatus: upstream's field names, the subset a GRUB install has. Its id is the volume label. */
export interface VolumeStatusSpec {
  readonly phase: VolumePhase;
  /** `partition` for the system volumes. */
  readonly type: 'partition' | 'disk' | 'tmpfs' | 'directory';
  /** The partition's device, e.g. /dev/vda5. */
  readonly location: string;
  readonly mountLocation: string;
  /** 1-based partition number. */
  readonly partitionIndex: number;
  /** The whole disk, e.g. /dev/vda. */
  readonly parentLocation: string;
  readonly partitionUUID: string;
  readonly size: number;
  /** Size in SI units, as upstream prints it (e.g. "105 MB"). */
  readonly prettySize: string;
  readonly filesystem: string;
  readonly mountSpec: { readonly targetPath: string };
  readonly errorMessage?: string;
}

/** A VolumeStatus with id = the volume's label (STATE, EPHEMERAL, …). */
export function newVolumeStatus(id: string, spec: VolumeStatusSpec): Resource<VolumeStatusSpec> {
  return newResource({ namespace: NamespaceName.runtime, type: VolumeStatusType }, id, spec);
}

/** A byte count in SI units with upstream's rounding ("2.1 GB", "105 MB", "512 B"). */
export function prettyBytes(bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  if (bytes < 10) return `${bytes} B`;
  const e = Math.min(Math.floor(Math.log(bytes) / Math.log(1000)), units.length - 1);
  const v = bytes / 1000 ** e;
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ${units[e]}`;
}

/** Definition: `talosctl get volumestatus` (no aliases beyond those of the type's own name, as upstream). */
export const volumeStatusDefinition: ResourceDefinitionInput = {
  type: VolumeStatusType,
  displayType: 'VolumeStatus',
  aliases: [],
  defaultNamespace: NamespaceName.runtime,
  printColumns: [
    { name: 'Type', jsonPath: '{.type}' },
    { name: 'Phase', jsonPath: '{.phase}' },
    { name: 'Location', jsonPath: '{.location}' },
    { name: 'Size', jsonPath: '{.prettySize}' },
  ],
};
