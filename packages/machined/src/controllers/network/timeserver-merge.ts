import type { Controller } from '@talos-ts/cosi';
import { TimeServerSpecType, type TimeServerSpecSpec } from '@talos-ts/machinery';
import { createNetworkMergeController } from './merge.ts';

/** network.TimeServerMergeController: the servers of the highest layer that lists any. */
export function createTimeServerMergeController(): Controller {
  return createNetworkMergeController<TimeServerSpecSpec>({
    name: 'network.TimeServerMergeController',
    type: TimeServerSpecType,
    merge: (layers) => [...layers].reverse().find((r) => r.spec.timeServers.length > 0)?.spec,
  });
}
