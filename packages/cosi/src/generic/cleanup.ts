import type { ControllerContext } from '../controller.ts';
import type { Kind } from '../resource.ts';

/**
 * Removes every resource of the kind that this controller owns and did not produce in this
 * round. Resources with foreign finalizers are torn down and destroyed on a later wake-up, once
 * the finalizers are gone.
 */
export function removeUnproduced(ctx: ControllerContext, kind: Kind, owner: string, produced: ReadonlySet<string>): void {
  for (const r of ctx.list(kind)) {
    if (r.metadata.owner !== owner || produced.has(r.metadata.id)) continue;
    const p = { namespace: kind.namespace, type: kind.type, id: r.metadata.id };
    if (ctx.teardown(p)) ctx.destroy(p);
  }
}
