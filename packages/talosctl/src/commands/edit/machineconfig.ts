// Fetching and applying the machine config of one node, shared by `edit` and `patch`.

import type { TalosClient } from '@talos-ts/machinery';
import { CliError } from '../../cli.ts';

/** Type, namespace and id of the active machine config resource. */
export const MACHINE_CONFIG = { namespace: 'config', type: 'MachineConfigs.config.talos.dev', id: 'v1alpha1' } as const;

/** Names `talosctl edit`/`patch` accept for the machine config type. */
export function isMachineConfigType(name: string): boolean {
  return ['machineconfig', 'machineconfigs', 'mc', MACHINE_CONFIG.type.toLowerCase()].includes(name.toLowerCase());
}

/** The machine config YAML of the client's (single) node, as the resource's spec carries it. */
export async function fetchMachineConfig(client: TalosClient, signal: AbortSignal): Promise<string> {
  const res = await client.resources.get(MACHINE_CONFIG, { signal });
  const text = res.resource?.spec?.yamlSpec;
  if (text === undefined || text === '') throw new CliError('machine config resource has no YAML spec');
  return text;
}
