import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  HostnameId,
  HostnameStatusType,
  NamespaceName,
  NetworkStatusId,
  NetworkStatusType,
  NodeAddressId,
  NodeAddressType,
  ResolverId,
  ResolverStatusType,
  RouteStatusType,
  type NetworkStatusSpec,
  type NodeAddressSpec,
  type RouteStatusSpec,
} from '@talos-ts/machinery';

/**
 * network.StatusController: NetworkStatus, what services wait on. Address: the node has a current
 * address. Connectivity: there is a default route. Hostname: HostnameStatus exists. Etc files: the
 * resolvers and hostname /etc/resolv.conf and /etc/hosts are written from exist.
 */
export class NetworkStatusController implements Controller {
  readonly name = 'network.StatusController';
  readonly inputs = [
    { namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.current, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: RouteStatusType, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: ResolverStatusType, id: ResolverId, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: NetworkStatusType, kind: 'exclusive' as const }];

  async run(ctx: ControllerContext): Promise<void> {
    for await (const _ of ctx.changes()) {
      const current = ctx.find<NodeAddressSpec>({ namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.current });
      const hostname = ctx.find({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId }) !== undefined;
      const resolvers = ctx.find({ namespace: NamespaceName.network, type: ResolverStatusType, id: ResolverId }) !== undefined;
      const spec: NetworkStatusSpec = {
        addressReady: (current?.spec.addresses.length ?? 0) > 0,
        connectivityReady: ctx.list<RouteStatusSpec>({ namespace: NamespaceName.network, type: RouteStatusType }).some((r) => r.spec.dst === '' && r.spec.table === 'main'),
        hostnameReady: hostname,
        etcFilesReady: hostname && resolvers,
      };
      ctx.modify<NetworkStatusSpec>({ namespace: NamespaceName.network, type: NetworkStatusType, id: NetworkStatusId }, spec, (d) => {
        d.spec = spec;
      });
    }
  }
}
