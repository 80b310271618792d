import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the resource saying which A/B slot runs and how the last upgrade's one-shot try ended. */
export const UpgradeStatusType = 'UpgradeStatuses.runtime.talos.dev';

/** Singleton id. */
export const UpgradeStatusId = 'upgrade';

/** Spec of UpgradeStatus: read from grubenv when machined marks the boot good. */
export interface UpgradeStatusSpec {
  /** The slot this boot runs from (`talos.slot=`). */
  readonly bootedSlot: string;
  /** `booted`: the last upgrade's slot came up and is now the default; `failed`: it never came up and the previous slot booted again; `none`: no upgrade was pending. */
  readonly lastUpgrade: 'booted' | 'failed' | 'none';
  /** The slot and version the last upgrade wrote (empty when none was pending). */
  readonly lastUpgradeSlot: string;
  readonly lastUpgradeVersion: string;
}

/** The UpgradeStatus resource. */
export function newUpgradeStatus(spec: UpgradeStatusSpec): Resource<UpgradeStatusSpec> {
  return newResource({ namespace: NamespaceName.runtime, type: UpgradeStatusType }, UpgradeStatusId, spec);
}

/** Definition: `talosctl get upgradestatus`. */
export const upgradeStatusDefinition: ResourceDefinitionInput = {
  type: UpgradeStatusType,
  displayType: 'UpgradeStatus',
  defaultNamespace: NamespaceName.runtime,
  printColumns: [
    { name: 'Booted Slot', jsonPath: '{.bootedSlot}' },
    { name: 'Last Upgrade', jsonPath: '{.lastUpgrade}' },
    { name: 'Slot', jsonPath: '{.lastUpgradeSlot}' },
    { name: 'Version', jsonPath: '{.lastUpgradeVersion}' },
  ],
};
