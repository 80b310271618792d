import type { Controller, ControllerContext } from '@talos-ts/cosi';
import { AffiliateType, NamespaceName, mergeAffiliateSpecs, type AffiliateSpec } from '@talos-ts/machinery';

/**
 * Merges the per-source affiliates of `cluster-raw` into one Affiliate per node id in `cluster`.
 * The output type is shared: LocalAffiliateController writes the local one beside ours.
 */
export class AffiliateMergeController implements Controller {
  readonly name = 'cluster.AffiliateMergeController';
  readonly inputs = [{ namespace: NamespaceName.clusterRaw, type: AffiliateType, kind: 'weak' as const }];
  readonly outputs = [{ type: AffiliateType, kind: 'shared' as const }];

  async run(ctx: ControllerContext): Promise<void> {
    const out = { namespace: NamespaceName.cluster, type: AffiliateType };
    for await (const _ of ctx.changes()) {
      const merged = new Map<string, AffiliateSpec>();
      const raw = ctx.list<AffiliateSpec>({ namespace: NamespaceName.clusterRaw, type: AffiliateType });
      for (const r of [...raw].sort((a, b) => (a.metadata.id < b.metadata.id ? -1 : 1))) {
        if (r.metadata.phase !== 'running' || r.spec.nodeId === '') continue;
        const prev = merged.get(r.spec.nodeId);
        merged.set(r.spec.nodeId, prev ? mergeAffiliateSpecs(prev, r.spec) : r.spec);
      }
      for (const [id, spec] of merged) {
        ctx.modify<AffiliateSpec>({ ...out, id }, spec, (d) => {
          d.spec = spec;
        });
      }
      for (const r of ctx.list(out)) {
        if (r.metadata.owner === this.name && !merged.has(r.metadata.id)) ctx.destroy({ ...out, id: r.metadata.id });
      }
    }
  }
}
