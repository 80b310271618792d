import type { Controller } from '@talos-ts/cosi';
import { LinkSpecType, type LinkSpecSpec } from '@talos-ts/machinery';
import { createNetworkMergeController } from './merge.ts';

/**
 * network.LinkMergeController: one LinkSpec per link name. Layers overlay field by field, the
 * higher winning, except that an MTU of 0 ("leave it") does not undo a lower layer's MTU.
 */
export function createLinkMergeController(): Controller {
  return createNetworkMergeController<LinkSpecSpec>({
    name: 'network.LinkMergeController',
    type: LinkSpecType,
    merge: (layers) => {
      let out: LinkSpecSpec | undefined;
      for (const { spec } of layers) out = out === undefined ? spec : { ...out, ...spec, mtu: spec.mtu !== 0 ? spec.mtu : out.mtu };
      return out;
    },
  });
}
