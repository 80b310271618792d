import type { Controller } from '@talos-ts/cosi';
import { RouteSpecType, type RouteSpecSpec } from '@talos-ts/machinery';
import { createNetworkMergeController } from './merge.ts';

/** network.RouteMergeController: one RouteSpec per route id, the highest layer winning. */
export function createRouteMergeController(): Controller {
  return createNetworkMergeController<RouteSpecSpec>({ name: 'network.RouteMergeController', type: RouteSpecType });
}
