import type { Controller } from '@talos-ts/cosi';
import { ResolverSpecType, type ResolverSpecSpec } from '@talos-ts/machinery';
import { createNetworkMergeController } from './merge.ts';

/**
 * network.ResolverMergeController: the servers of the highest layer that lists any (a config that
 * sets only search domains keeps the lower layer's servers), and the search domains likewise.
 */
export function createResolverMergeController(): Controller {
  return createNetworkMergeController<ResolverSpecSpec>({
    name: 'network.ResolverMergeController',
    type: ResolverSpecType,
    merge: (layers) => {
      const top = [...layers].reverse();
      const servers = top.find((r) => r.spec.dnsServers.length > 0);
      if (!servers) return undefined;
      const search = top.find((r) => (r.spec.searchDomains ?? []).length > 0);
      return { ...servers.spec, searchDomains: search?.spec.searchDomains ?? [] };
    },
  });
}
