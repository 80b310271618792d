import type { Controller } from '@talos-ts/cosi';
import { OperatorSpecType, type OperatorSpecSpec } from '@talos-ts/machinery';
import { createNetworkMergeController } from './merge.ts';

/** network.OperatorMergeController: one OperatorSpec per `<operator>/<link>`, the highest layer winning. */
export function createOperatorMergeController(): Controller {
  return createNetworkMergeController<OperatorSpecSpec>({ name: 'network.OperatorMergeController', type: OperatorSpecType });
}
