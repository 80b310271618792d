import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  AffiliateType,
  KubeSpanConfigId,
  KubeSpanConfigType,
  KubeSpanEndpointType,
  KubeSpanPeerStatusType,
  NamespaceName,
  type AffiliateSpec,
  type KubeSpanConfigSpec,
  type KubeSpanEndpointSpec,
  type KubeSpanPeerStatusSpec,
} from '@talos-ts/machinery';

/**
 * Endpoints proven to work (upstream's kubespan.EndpointController): for every peer that is up,
 * the endpoint it is reached on, tagged with the peer's affiliate id, so discovery can publish it
 * for the others (harvestExtraEndpoints). Off, or a peer that is down or unknown: no resource.
 */
export class KubeSpanEndpointController implements Controller {
  readonly name = 'kubespan.EndpointController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.kubespan, type: KubeSpanPeerStatusType, kind: 'weak' as const },
    { namespace: NamespaceName.cluster, type: AffiliateType, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: KubeSpanEndpointType, kind: 'exclusive' as const }];

  async run(ctx: ControllerContext): Promise<void> {
    const kind = { namespace: NamespaceName.kubespan, type: KubeSpanEndpointType };
    for await (const _ of ctx.changes()) {
      const cfg = ctx.find<KubeSpanConfigSpec>({ namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId });
      const wanted = new Map<string, KubeSpanEndpointSpec>();
      if (cfg?.spec.harvestExtraEndpoints) {
        const byKey = new Map<string, string>();
        for (const a of ctx.list<AffiliateSpec>({ namespace: NamespaceName.cluster, type: AffiliateType })) {
          if (a.spec.kubespan?.publicKey) byKey.set(a.spec.kubespan.publicKey, a.spec.nodeId);
        }
        for (const s of ctx.list<KubeSpanPeerStatusSpec>({ namespace: NamespaceName.kubespan, type: KubeSpanPeerStatusType })) {
          const affiliateID = byKey.get(s.metadata.id);
          if (s.spec.state !== 'up' || s.spec.endpoint === '' || affiliateID === undefined) continue;
          wanted.set(s.metadata.id, { affiliateID, endpoint: s.spec.endpoint });
        }
      }
      for (const [id, spec] of wanted) {
        ctx.modify<KubeSpanEndpointSpec>({ ...kind, id }, spec, (d) => {
          d.spec = spec;
        });
      }
      for (const r of ctx.list(kind)) if (!wanted.has(r.metadata.id)) ctx.destroy({ ...kind, id: r.metadata.id });
    }
  }
}
