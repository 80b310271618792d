import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  AffiliateType,
  DiscoveryConfigId,
  DiscoveryConfigType,
  HostnameId,
  HostnameStatusType,
  IdentityType,
  KubeSpanConfigId,
  KubeSpanConfigType,
  KubeSpanIdentityType,
  KubeSpanLocalIdentityId,
  LocalIdentityId,
  MachineTypeId,
  MachineTypeType,
  NamespaceName,
  NodeAddressId,
  NodeAddressType,
  NodenameId,
  NodenameType,
  TAG,
  fqdn,
  nodeIps,
  type AffiliateSpec,
  type NodeAddressSpec,
  type DiscoveryConfigSpec,
  type HostnameStatusSpec,
  type IdentitySpec,
  type KubeSpanConfigSpec,
  type KubeSpanIdentitySpec,
  type MachineTypeSpec,
  type NodenameSpec,
} from '@talos-ts/machinery';
import { localKubeSpanAffiliate } from '../kubespan/local-data.ts';

/** The Kubernetes API server port control planes announce (upstream's default). */
export const DEFAULT_API_SERVER_PORT = 6443;

/** Options of {@link LocalAffiliateController}. */
export interface LocalAffiliateControllerOptions {
  /**
   * Addresses the node is told it has (its --address); NodeAddress `routed` adds the ones found on
   * its links, so other nodes learn every address they can reach it on.
   */
  readonly addresses: () => readonly string[];
  readonly apiServerPort?: number;
  /** Upstream's `<name> (<version>)`; defaults to this build. */
  readonly operatingSystem?: string;
}

/**
 * This node's own Affiliate (id = node id, namespace `cluster`), while discovery is enabled: what
 * the discovery service publishes for us and what MemberController turns into our Member.
 */
export class LocalAffiliateController implements Controller {
  readonly name = 'cluster.LocalAffiliateController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: DiscoveryConfigType, id: DiscoveryConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId, kind: 'weak' as const },
    { namespace: NamespaceName.k8s, type: NodenameType, id: NodenameId, kind: 'weak' as const },
    { namespace: NamespaceName.config, type: MachineTypeType, id: MachineTypeId, kind: 'weak' as const },
    { namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.kubespan, type: KubeSpanIdentityType, id: KubeSpanLocalIdentityId, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.routed, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: AffiliateType, kind: 'shared' as const }];
  readonly #options: LocalAffiliateControllerOptions;

  constructor(options: LocalAffiliateControllerOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const out = { namespace: NamespaceName.cluster, type: AffiliateType };
    for await (const _ of ctx.changes()) {
      const spec = this.#build(ctx);
      if (spec) {
        ctx.modify<AffiliateSpec>({ ...out, id: spec.nodeId }, spec, (d) => {
          d.spec = spec;
        });
      }
      for (const r of ctx.list(out)) {
        if (r.metadata.owner === this.name && r.metadata.id !== spec?.nodeId) ctx.destroy({ ...out, id: r.metadata.id });
      }
    }
  }

  /** The affiliate, or undefined while an input is missing or discovery is off. */
  #build(ctx: ControllerContext): AffiliateSpec | undefined {
    const cfg = ctx.find<DiscoveryConfigSpec>({ namespace: NamespaceName.config, type: DiscoveryConfigType, id: DiscoveryConfigId });
    const identity = ctx.find<IdentitySpec>({ namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId });
    const hostname = ctx.find<HostnameStatusSpec>({ namespace: NamespaceName.network, type: HostnameStatusType, id: HostnameId });
    const nodename = ctx.find<NodenameSpec>({ namespace: NamespaceName.k8s, type: NodenameType, id: NodenameId });
    const machineType = ctx.find<MachineTypeSpec>({ namespace: NamespaceName.config, type: MachineTypeType, id: MachineTypeId });
    const routed = ctx.find<NodeAddressSpec>({ namespace: NamespaceName.network, type: NodeAddressType, id: NodeAddressId.routed });
    if (!cfg?.spec.discoveryEnabled || !identity || !hostname || !nodename || !machineType) return undefined;
    const kind = machineType.spec.machineType;
    const controlPlane = kind === 'controlplane' || kind === 'init';
    const addresses = [...new Set([...this.#options.addresses(), ...(routed ? nodeIps(routed.spec) : [])])];
    // KubeSpan data only once the mesh identity exists (KubeSpan enabled and the address derived).
    const ksConfig = ctx.find<KubeSpanConfigSpec>({ namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId });
    const ksIdentity = ctx.find<KubeSpanIdentitySpec>({ namespace: NamespaceName.kubespan, type: KubeSpanIdentityType, id: KubeSpanLocalIdentityId });
    const kubespan = ksConfig?.spec.enabled && ksIdentity ? localKubeSpanAffiliate(ksIdentity.spec, ksConfig.spec, addresses) : undefined;
    return {
      nodeId: identity.spec.nodeId,
      addresses: kubespan ? addresses.filter((a) => a !== kubespan.address) : addresses,
      hostname: fqdn(hostname.spec),
      nodename: nodename.spec.nodename,
      operatingSystem: this.#options.operatingSystem ?? `Talos (${TAG})`,
      machineType: kind,
      ...(kubespan ? { kubespan } : {}),
      ...(controlPlane ? { controlPlane: { port: this.#options.apiServerPort ?? DEFAULT_API_SERVER_PORT } } : {}),
    };
  }
}
