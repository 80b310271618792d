export { DiscoveryServer, createDiscoveryServer, ipBytes, peerIp } from './server/server.ts';
export type { BoundAddress, DiscoveryServerOptions } from './server/server.ts';
export { DiscoveryState, validateAffiliateId, validateClusterId } from './server/state.ts';
export type { AffiliateUpdate, ClusterState, SnapshotData, StateStats, StoredAffiliate, WatchEvent, Watcher, WireAffiliate } from './server/state.ts';
export { limits } from './server/limits.ts';
export { IpRateLimiter, defaultRateLimit } from './server/ratelimit.ts';
export type { RateLimitOptions } from './server/ratelimit.ts';
export { parseSnapshot, readSnapshot, writeSnapshot } from './server/snapshot.ts';
export { Metrics } from './server/metrics.ts';
// The client side lives in machinery so nodes (machined) can use it; re-exported for existing users.
export { DiscoveryClient, clusterKey, openData, openEndpoint, sealData, sealEndpoint } from '@talos-ts/machinery';
export type { AffiliateEvent, AffiliateInit, ClusterKey, DiscoveredAffiliate, DiscoveryClientOptions, EndpointInit } from '@talos-ts/machinery';
export { main, parseArgs } from './main.ts';
export type { DiscoveryArgs } from './main.ts';
