export { DiscoveryClient } from './client.ts';
export type { AffiliateEvent, AffiliateInit, DiscoveredAffiliate, DiscoveryClientOptions, EndpointInit } from './client.ts';
export { clusterKey, openData, openEndpoint, sealData, sealEndpoint } from './crypto.ts';
export type { ClusterKey } from './crypto.ts';
