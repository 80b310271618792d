import type { Controller, ControllerContext, Resource } from '@talos-ts/cosi';
import { AddressStatusType, LinkStatusType, NamespaceName, RouteSpecType, type RouteSpecSpec } from '@talos-ts/machinery';
import { tableNumber, type KernelRoute, type NetworkKernel, type RouteRequest } from '../../linux/rtnetlink.ts';
import { report } from './address-spec.ts';

const FINALIZER = 'network.RouteSpecController';

function sameRoute(k: KernelRoute, r: RouteRequest): boolean {
  return k.family === r.family && k.dst === r.dst && k.gateway === r.gateway && k.tableId === r.tableId && k.priority === r.priority && (r.outLinkIndex === 0 || k.outLinkIndex === r.outLinkIndex);
}

/**
 * network.RouteSpecController: installs the merged RouteSpecs (table, metric, preferred source,
 * MTU) and removes a route when its spec is torn down. A route whose gateway is not reachable yet
 * is reported and retried when addresses or links change; the other routes go on.
 */
export class RouteSpecController implements Controller {
  readonly name = 'network.RouteSpecController';
  readonly inputs = [
    { namespace: NamespaceName.network, type: RouteSpecType, kind: 'strong' as const },
    { namespace: NamespaceName.network, type: LinkStatusType, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: AddressStatusType, kind: 'weak' as const },
  ];
  readonly outputs = [];
  readonly #openKernel: () => NetworkKernel;

  /** `openKernel` opens the kernel's networking for one run (a socket per run, closed when it ends). */
  constructor(options: { openKernel: () => NetworkKernel }) {
    this.#openKernel = options.openKernel;
  }

  async run(ctx: ControllerContext): Promise<void> {
    using kernel = this.#openKernel();
    const failed = new Map<string, string>();
    for await (const _ of ctx.changes()) {
      const specs = ctx.list<RouteSpecSpec>({ namespace: NamespaceName.network, type: RouteSpecType });
      const links = new Map(kernel.links().map((l) => [l.name, l.index]));
      const routes = kernel.routes();
      for (const r of specs) {
        try {
          this.#apply(ctx, kernel, r, links, routes);
          failed.delete(r.metadata.id);
        } catch (err) {
          report(ctx, failed, r.metadata.id, (err as Error).message);
        }
      }
    }
  }

  #apply(ctx: ControllerContext, kernel: NetworkKernel, r: Resource<RouteSpecSpec>, links: Map<string, number>, routes: readonly KernelRoute[]): void {
    const s = r.spec;
    const p = { namespace: r.metadata.namespace, type: r.metadata.type, id: r.metadata.id };
    const outLinkIndex = s.outLinkName ? links.get(s.outLinkName) : 0;
    const req: RouteRequest | undefined =
      outLinkIndex === undefined
        ? undefined
        : { family: s.family, dst: s.dst, gateway: s.gateway, src: s.src, outLinkIndex, tableId: tableNumber(s.table), priority: s.priority ?? 0, scope: s.scope, protocol: s.protocol, ...(s.mtu ? { mtu: s.mtu } : {}) };
    if (r.metadata.phase === 'tearingDown') {
      if (req && routes.some((k) => sameRoute(k, req))) kernel.deleteRoute(req);
      if (r.metadata.finalizers.includes(FINALIZER)) ctx.removeFinalizer(p, FINALIZER);
      return;
    }
    if (!r.metadata.finalizers.includes(FINALIZER)) ctx.addFinalizer(p, FINALIZER);
    if (!req) throw new Error(`route ${r.metadata.id}: link ${s.outLinkName ?? ''} does not exist (yet)`);
    if (routes.some((k) => sameRoute(k, req) && k.src === req.src && k.mtu === (req.mtu ?? 0))) return;
    kernel.addRoute(req);
    ctx.logger.info('route added', { id: r.metadata.id });
  }
}
