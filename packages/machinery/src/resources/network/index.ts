// The networking resource types, one per file; re-exported by ../index.ts.
export { configLayers, layerRank } from './layer.ts';
export type { ConfigLayer, Family, Scope } from './layer.ts';
export { AddressSpecType, addressId, newAddressSpec, addressSpecDefinition } from './address-spec.ts';
export type { AddressSpecSpec } from './address-spec.ts';
export { AddressStatusType, newAddressStatus, addressStatusDefinition } from './address-status.ts';
export type { AddressStatusSpec } from './address-status.ts';
export { LinkSpecType, newLinkSpec, linkSpecDefinition } from './link-spec.ts';
export type { LinkSpecSpec, VlanSpec, BondMasterSpec } from './link-spec.ts';
export { LinkStatusType, newLinkStatus, linkStatusDefinition } from './link-status.ts';
export type { LinkStatusSpec } from './link-status.ts';
export { RouteSpecType, routeId, newRouteSpec, routeSpecDefinition } from './route-spec.ts';
export type { RouteSpecSpec } from './route-spec.ts';
export { RouteStatusType, newRouteStatus, routeStatusDefinition } from './route-status.ts';
export type { RouteStatusSpec } from './route-status.ts';
export { HostnameSpecType, newHostnameSpec, splitFqdn, hostnameSpecDefinition } from './hostname-spec.ts';
export type { HostnameSpecSpec } from './hostname-spec.ts';
export { HostnameStatusType, HostnameId, newHostnameStatus, fqdn, hostnameStatusDefinition } from './hostname-status.ts';
export type { HostnameStatusSpec } from './hostname-status.ts';
export { ResolverSpecType, ResolverId, newResolverSpec, resolverSpecDefinition } from './resolver-spec.ts';
export type { ResolverSpecSpec } from './resolver-spec.ts';
export { ResolverStatusType, newResolverStatus, resolverStatusDefinition } from './resolver-status.ts';
export type { ResolverStatusSpec } from './resolver-status.ts';
export { TimeServerSpecType, TimeServerId, newTimeServerSpec, timeServerSpecDefinition } from './timeserver-spec.ts';
export type { TimeServerSpecSpec } from './timeserver-spec.ts';
export { TimeServerStatusType, newTimeServerStatus, timeServerStatusDefinition } from './timeserver-status.ts';
export type { TimeServerStatusSpec } from './timeserver-status.ts';
export { NodeAddressType, NodeAddressId, newNodeAddress, nodeIps, nodeAddressDefinition } from './node-address.ts';
export type { NodeAddressSpec } from './node-address.ts';
export { NodeAddressFilterType, newNodeAddressFilter, nodeAddressFilterDefinition } from './node-address-filter.ts';
export type { NodeAddressFilterSpec } from './node-address-filter.ts';
export { NetworkStatusType, NetworkStatusId, newNetworkStatus, networkStatusDefinition } from './network-status.ts';
export type { NetworkStatusSpec } from './network-status.ts';
export { OperatorSpecType, operatorId, newOperatorSpec, operatorSpecDefinition } from './operator-spec.ts';
export type { OperatorSpecSpec, OperatorKind } from './operator-spec.ts';
export { HardwareAddrType, FirstHardwareAddrId, newHardwareAddr, hardwareAddrDefinition } from './hardware-addr.ts';
export type { HardwareAddrSpec } from './hardware-addr.ts';

import { addressSpecDefinition } from './address-spec.ts';
import { addressStatusDefinition } from './address-status.ts';
import { linkSpecDefinition } from './link-spec.ts';
import { linkStatusDefinition } from './link-status.ts';
import { routeSpecDefinition } from './route-spec.ts';
import { routeStatusDefinition } from './route-status.ts';
import { hostnameSpecDefinition } from './hostname-spec.ts';
import { resolverSpecDefinition } from './resolver-spec.ts';
import { resolverStatusDefinition } from './resolver-status.ts';
import { timeServerSpecDefinition } from './timeserver-spec.ts';
import { timeServerStatusDefinition } from './timeserver-status.ts';
import { nodeAddressDefinition } from './node-address.ts';
import { nodeAddressFilterDefinition } from './node-address-filter.ts';
import { networkStatusDefinition } from './network-status.ts';
import { operatorSpecDefinition } from './operator-spec.ts';
import { hardwareAddrDefinition } from './hardware-addr.ts';
import type { ResourceDefinitionInput } from '@talos-ts/cosi';

/** The networking definitions (HostnameStatus is registered on its own, as before). */
export const networkResourceDefinitions: readonly ResourceDefinitionInput[] = [
  addressSpecDefinition,
  addressStatusDefinition,
  linkSpecDefinition,
  linkStatusDefinition,
  routeSpecDefinition,
  routeStatusDefinition,
  hostnameSpecDefinition,
  resolverSpecDefinition,
  resolverStatusDefinition,
  timeServerSpecDefinition,
  timeServerStatusDefinition,
  nodeAddressDefinition,
  nodeAddressFilterDefinition,
  networkStatusDefinition,
  operatorSpecDefinition,
  hardwareAddrDefinition,
];
