import type { Controller } from '@talos-ts/cosi';
import { HostnameSpecType, type HostnameSpecSpec } from '@talos-ts/machinery';
import { createNetworkMergeController } from './merge.ts';

/** network.HostnameMergeController: the hostname of the highest layer that names one. */
export function createHostnameMergeController(): Controller {
  return createNetworkMergeController<HostnameSpecSpec>({
    name: 'network.HostnameMergeController',
    type: HostnameSpecType,
    merge: (layers) => [...layers].reverse().find((r) => r.spec.hostname !== '')?.spec,
  });
}
