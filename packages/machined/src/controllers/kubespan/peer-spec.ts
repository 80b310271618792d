import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  AffiliateType,
  IdentityType,
  KubeSpanConfigId,
  KubeSpanConfigType,
  KubeSpanPeerSpecType,
  LocalIdentityId,
  NamespaceName,
  type AffiliateSpec,
  type IdentitySpec,
  type KubeSpanConfigSpec,
  type KubeSpanPeerSpecSpec,
} from '@talos-ts/machinery';
import { derivePeerSpecs } from './peers.ts';

/**
 * KubeSpan peers from the merged cluster affiliates (upstream's kubespan.PeerSpecController), one
 * per other node publishing a WireGuard key, id = that key. A peer with malformed data is logged
 * and left out; the others are unaffected.
 */
export class KubeSpanPeerSpecController implements Controller {
  readonly name = 'kubespan.PeerSpecController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId, kind: 'weak' as const },
    { namespace: NamespaceName.cluster, type: AffiliateType, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: KubeSpanPeerSpecType, kind: 'exclusive' as const }];

  async run(ctx: ControllerContext): Promise<void> {
    const kind = { namespace: NamespaceName.kubespan, type: KubeSpanPeerSpecType };
    // Log a bad peer once per distinct reason, not on every wake-up.
    let reported = new Set<string>();
    for await (const _ of ctx.changes()) {
      const cfg = ctx.find<KubeSpanConfigSpec>({ namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId });
      const identity = ctx.find<IdentitySpec>({ namespace: NamespaceName.cluster, type: IdentityType, id: LocalIdentityId });
      let peers = new Map<string, KubeSpanPeerSpecSpec>();
      if (cfg?.spec.enabled && identity) {
        const affiliates = ctx.list<AffiliateSpec>({ namespace: NamespaceName.cluster, type: AffiliateType }).map((r) => ({ id: r.metadata.id, spec: r.spec }));
        const derived = derivePeerSpecs(affiliates, { localNodeId: identity.spec.nodeId });
        peers = derived.peers;
        const now = new Set<string>();
        for (const s of derived.skipped) {
          const key = `${s.affiliateId}\0${s.reason}`;
          now.add(key);
          if (!reported.has(key)) ctx.logger.warn('skipping KubeSpan peer with malformed affiliate data', { affiliate: s.affiliateId, reason: s.reason });
        }
        for (const o of derived.overlaps) {
          if (!reported.has(o)) ctx.logger.warn('KubeSpan peer address overlap: the earlier peer keeps the shared ranges', { overlap: o });
          now.add(o);
        }
        reported = now;
      }
      for (const [id, spec] of peers) {
        ctx.modify<KubeSpanPeerSpecSpec>({ ...kind, id }, spec, (d) => {
          d.spec = spec;
        });
      }
      for (const r of ctx.list(kind)) if (!peers.has(r.metadata.id)) ctx.destroy({ ...kind, id: r.metadata.id });
    }
  }
}
