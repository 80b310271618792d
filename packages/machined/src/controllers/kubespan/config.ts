import { createTransformController, type Controller } from '@talos-ts/cosi';
import {
  ActiveMachineConfigId,
  KubeSpanConfigId,
  KubeSpanConfigType,
  MachineConfigType,
  NamespaceName,
  type KubeSpanConfigSpec,
  type MachineConfigSpec,
} from '@talos-ts/machinery';
import { KubeSpanKernel } from '../../linux/kubespan.ts';
import { machineConfigOf } from '../config/parse.ts';

/**
 * KubeSpan settings from the active machine config (upstream's kubespan.ConfigController): the
 * machine.network.kubespan fields plus the cluster id and secret that derive the mesh's subnet and
 * key its WireGuard pre-shared key. No cluster section, no resource.
 */
export function createKubeSpanConfigController(): Controller {
  return createTransformController<MachineConfigSpec, KubeSpanConfigSpec>({
    name: 'kubespan.ConfigController',
    input: { namespace: NamespaceName.config, type: MachineConfigType },
    output: { namespace: NamespaceName.config, type: KubeSpanConfigType },
    transform: (r) => {
      if (r.metadata.id !== ActiveMachineConfigId) return undefined;
      const cfg = machineConfigOf(r).config;
      if (!cfg.cluster || !cfg.machine) return undefined;
      const ks = cfg.machine.network?.kubespan;
      const spec: KubeSpanConfigSpec = {
        enabled: ks?.enabled === true,
        clusterId: cfg.cluster.id ?? '',
        sharedSecret: cfg.cluster.secret ?? '',
        // Upstream: allowDownPeerBypass unset means traffic to peers is always forced to the link.
        forceRouting: ks?.allowDownPeerBypass !== true,
        advertiseKubernetesNetworks: ks?.advertiseKubernetesNetworks === true,
        // Upstream's MTU() getter: unset or 0 is the link default.
        mtu: ks?.mtu || KubeSpanKernel.linkMtu,
        endpointFilters: [...(ks?.filters?.endpoints ?? [])],
        harvestExtraEndpoints: ks?.harvestExtraEndpoints === true,
        extraEndpoints: [],
        excludeAdvertisedNetworks: [...(ks?.filters?.excludeAdvertisedNetworks ?? [])],
      };
      return { id: KubeSpanConfigId, spec };
    },
  });
}
