import { createTransformController, type Controller } from '@talos-ts/cosi';
import { EtcdConfigId, EtcdConfigType, MachineConfigType, ActiveMachineConfigId, NamespaceName, type EtcdConfigSpec, type MachineConfigSpec } from '@talos-ts/machinery';
import { machineConfigOf } from '../config/parse.ts';

/**
 * etcd.ConfigController: the etcd settings of a control plane's config. The shared VIPs of its
 * links and VLANs are excluded from what etcd advertises: the holder carries the VIP as an address,
 * but it is no node's own, and a peer URL on it would follow the VIP to another node.
 */
export function createEtcdConfigController(): Controller {
  return createTransformController<MachineConfigSpec, EtcdConfigSpec>({
    name: 'etcd.ConfigController',
    input: { namespace: NamespaceName.config, type: MachineConfigType },
    output: { namespace: NamespaceName.etcd, type: EtcdConfigType },
    transform: (r) => {
      if (r.metadata.id !== ActiveMachineConfigId) return undefined;
      const c = machineConfigOf(r).config;
      if (!c.machine || !c.cluster || !['controlplane', 'init'].includes(c.machine.type ?? '')) return undefined;
      const vips: string[] = [];
      for (const i of c.machine.network?.interfaces ?? []) {
        if (i.vip?.ip) vips.push(i.vip.ip);
        for (const v of i.vlans ?? []) if (v.vip?.ip) vips.push(v.vip.ip);
      }
      const etcd = c.cluster.etcd;
      const spec: EtcdConfigSpec = {
        advertiseValidSubnets: etcd?.advertisedSubnets ?? [],
        advertiseExcludeSubnets: vips,
        listenValidSubnets: etcd?.listenSubnets ?? [],
        listenExcludeSubnets: [],
        image: etcd?.image ?? '',
        extraArgs: etcd?.extraArgs ?? {},
      };
      return { id: EtcdConfigId, spec };
    },
  });
}
