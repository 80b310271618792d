import { removeUnproduced, type Controller, type ControllerContext } from '@talos-ts/cosi';
import { LinkStatusType, NamespaceName, type LinkStatusSpec } from '@talos-ts/machinery';
import { RtnlGroups, type KernelLink, type NetworkKernel } from '../../linux/rtnetlink.ts';

/** LinkStatus of a kernel link. */
export function linkStatusOf(l: KernelLink): LinkStatusSpec {
  return {
    index: l.index,
    type: l.type,
    linkIndex: l.linkIndex,
    flags: l.flagNames,
    hardwareAddr: l.hardwareAddr,
    broadcastAddr: l.broadcastAddr,
    mtu: l.mtu,
    queueDisc: l.qdisc,
    ...(l.masterIndex ? { masterIndex: l.masterIndex } : {}),
    operationalState: l.operationalState,
    kind: l.kind,
    slaveKind: l.slaveKind,
    linkState: (l.flags & 0x10000) !== 0,
    ...(l.vlan ? { vlan: l.vlan } : {}),
  };
}

/** network.LinkStatusController: one LinkStatus per kernel link, refreshed on link notifications. */
export class LinkStatusController implements Controller {
  readonly name = 'network.LinkStatusController';
  readonly inputs = [];
  readonly outputs = [{ type: LinkStatusType, kind: 'exclusive' as const }];
  readonly #openKernel: () => NetworkKernel;

  /** `openKernel` opens the kernel's networking for one run (a socket per run, closed when it ends). */
  constructor(options: { openKernel: () => NetworkKernel }) {
    this.#openKernel = options.openKernel;
  }

  async run(ctx: ControllerContext): Promise<void> {
    using kernel = this.#openKernel();
    using _watch = kernel.watch(RtnlGroups.link, () => ctx.requeueAfter(0));
    const kind = { namespace: NamespaceName.network, type: LinkStatusType };
    for await (const _ of ctx.changes()) {
      const produced = new Set<string>();
      for (const l of kernel.links()) {
        const spec = linkStatusOf(l);
        produced.add(l.name);
        ctx.modify<LinkStatusSpec>({ ...kind, id: l.name }, spec, (d) => {
          d.spec = spec;
        });
      }
      removeUnproduced(ctx, kind, this.name, produced);
    }
  }
}
