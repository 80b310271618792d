import { createTransformController, type Controller } from '@talos-ts/cosi';
import { NamespaceName, ResolverSpecType, ResolverStatusType, type ResolverSpecSpec, type ResolverStatusSpec } from '@talos-ts/machinery';

/** network.ResolverSpecController: the merged resolvers become the ResolverStatus /etc/resolv.conf is written from. */
export function createResolverSpecController(): Controller {
  return createTransformController<ResolverSpecSpec, ResolverStatusSpec>({
    name: 'network.ResolverSpecController',
    input: { namespace: NamespaceName.network, type: ResolverSpecType },
    output: { namespace: NamespaceName.network, type: ResolverStatusType },
    transform: (r) => ({ spec: { dnsServers: r.spec.dnsServers, searchDomains: r.spec.searchDomains ?? [] } }),
  });
}
