import { removeUnproduced, type Controller, type ControllerContext } from '@talos-ts/cosi';
import { NamespaceName, RouteStatusType, routeId, type RouteStatusSpec } from '@talos-ts/machinery';
import { RtnlGroups, type NetworkKernel } from '../../linux/rtnetlink.ts';

/** network.RouteStatusController: one RouteStatus per kernel route of every table, refreshed on notifications. */
export class RouteStatusController implements Controller {
  readonly name = 'network.RouteStatusController';
  readonly inputs = [];
  readonly outputs = [{ type: RouteStatusType, kind: 'exclusive' as const }];
  readonly #openKernel: () => NetworkKernel;

  /** `openKernel` opens the kernel's networking for one run (a socket per run, closed when it ends). */
  constructor(options: { openKernel: () => NetworkKernel }) {
    this.#openKernel = options.openKernel;
  }

  async run(ctx: ControllerContext): Promise<void> {
    using kernel = this.#openKernel();
    using _watch = kernel.watch(RtnlGroups.route | RtnlGroups.link, () => ctx.requeueAfter(0));
    const kind = { namespace: NamespaceName.network, type: RouteStatusType };
    for await (const _ of ctx.changes()) {
      const names = new Map(kernel.links().map((l) => [l.index, l.name]));
      const produced = new Set<string>();
      for (const r of kernel.routes()) {
        const outLinkName = names.get(r.outLinkIndex);
        const spec: RouteStatusSpec = {
          family: r.family,
          dst: r.dst,
          src: r.src,
          gateway: r.gateway,
          ...(r.outLinkIndex ? { outLinkIndex: r.outLinkIndex } : {}),
          ...(outLinkName ? { outLinkName } : {}),
          table: r.table,
          priority: r.priority,
          scope: r.scope as RouteStatusSpec['scope'],
          type: r.type,
          flags: '',
          protocol: r.protocol,
          ...(r.mtu ? { mtu: r.mtu } : {}),
        };
        // The same destination can exist once per link (IPv6 multicast and link-local routes).
        let id = routeId(spec);
        if (outLinkName && produced.has(id)) id = `${id}/${outLinkName}`;
        if (produced.has(id)) continue;
        produced.add(id);
        ctx.modify<RouteStatusSpec>({ ...kind, id }, spec, (d) => {
          d.spec = spec;
        });
      }
      removeUnproduced(ctx, kind, this.name, produced);
    }
  }
}
