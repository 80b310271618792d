import type { Controller } from '@talos-ts/cosi';
import { AddressSpecType, type AddressSpecSpec } from '@talos-ts/machinery';
import { createNetworkMergeController } from './merge.ts';

/** network.AddressMergeController: one AddressSpec per `<link>/<cidr>`, the highest layer winning. */
export function createAddressMergeController(): Controller {
  return createNetworkMergeController<AddressSpecSpec>({ name: 'network.AddressMergeController', type: AddressSpecType });
}
