import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  DEFAULT_POD_SUBNETS,
  DEFAULT_SERVICE_SUBNETS,
  MachineConfigType,
  NamespaceName,
  NodeAddressFilterNoK8s,
  NodeAddressFilterOnlyK8s,
  NodeAddressFilterType,
  type MachineConfigSpec,
  type NodeAddressFilterSpec,
} from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/**
 * k8s.NodeAddressFilterController: the `no-k8s` and `only-k8s` NodeAddressFilters from the pod and
 * service networks of the config, so that etcd and discovery never advertise an address that
 * belongs to Kubernetes (a pod bridge's, a service's).
 */
export class NodeAddressFilterController implements Controller {
  readonly name = 'k8s.NodeAddressFilterController';
  readonly inputs = [{ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId, kind: 'weak' as const }];
  readonly outputs = [{ type: NodeAddressFilterType, kind: 'exclusive' as const }];

  async run(ctx: ControllerContext): Promise<void> {
    for await (const _ of ctx.changes()) {
      const cfg = ctx.find<MachineConfigSpec>({ namespace: NamespaceName.config, type: MachineConfigType, id: ActiveMachineConfigId });
      const put = (id: string, spec: NodeAddressFilterSpec): void => {
        ctx.modify<NodeAddressFilterSpec>({ namespace: NamespaceName.network, type: NodeAddressFilterType, id }, spec, (d) => {
          d.spec = spec;
        });
      };
      if (!cfg) {
        for (const id of [NodeAddressFilterNoK8s, NodeAddressFilterOnlyK8s]) {
          if (ctx.find({ namespace: NamespaceName.network, type: NodeAddressFilterType, id })) ctx.destroy({ namespace: NamespaceName.network, type: NodeAddressFilterType, id });
        }
        continue;
      }
      const net = machineConfigOf(cfg).config.cluster?.network;
      const k8s = [...(net?.podSubnets ?? DEFAULT_POD_SUBNETS), ...(net?.serviceSubnets ?? DEFAULT_SERVICE_SUBNETS)];
      put(NodeAddressFilterNoK8s, { includeSubnets: [], excludeSubnets: k8s });
      // Without any Kubernetes network, "only Kubernetes addresses" is nothing at all.
      put(NodeAddressFilterOnlyK8s, k8s.length > 0 ? { includeSubnets: k8s, excludeSubnets: [] } : { includeSubnets: [], excludeSubnets: ['0.0.0.0/0', '::/0'] });
    }
  }
}
