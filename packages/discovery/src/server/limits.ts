/** Service limits; the values match upstream's discovery service so clients behave the same. */
export const limits = {
  clusterIdMaxChars: 256,
  affiliateIdMaxChars: 256,
  affiliateDataMaxBytes: 2048,
  endpointMaxBytes: 32,
  ttlMaxMs: 30 * 60_000,
  clusterAffiliatesMax: 1024,
  affiliateEndpointsMax: 64,
  /** Largest gRPC message accepted; a maximal legal AffiliateUpdate is about 5 KiB. */
  messageMaxBytes: 32 * 1024,
  /** Distinct changed affiliates a watcher may lag behind before it is cut off and must re-watch. */
  watcherPendingMax: 2 * 1024,
} as const;
