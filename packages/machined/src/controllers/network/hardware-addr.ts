import type { Controller, ControllerContext } from '@talos-ts/cosi';
import { FirstHardwareAddrId, HardwareAddrType, LinkStatusType, NamespaceName, type HardwareAddrSpec, type LinkStatusSpec } from '@talos-ts/machinery';

/** Upstream's LinkStatusSpec.Physical: an ethernet link the kernel did not create (no rtnetlink kind). */
export function isPhysicalLink(l: Pick<LinkStatusSpec, 'type' | 'kind'>): boolean {
  return l.type === 'ether' && l.kind === '';
}

/**
 * network.HardwareAddrController: HardwareAddr `first` is the MAC of the first physical link in name
 * order (what KubeSpan derives the node's address from); it goes away when no physical link is left.
 */
export class HardwareAddrController implements Controller {
  readonly name = 'network.HardwareAddrController';
  readonly inputs = [{ namespace: NamespaceName.network, type: LinkStatusType, kind: 'weak' as const }];
  readonly outputs = [{ type: HardwareAddrType, kind: 'exclusive' as const }];

  async run(ctx: ControllerContext): Promise<void> {
    const pointer = { namespace: NamespaceName.network, type: HardwareAddrType, id: FirstHardwareAddrId };
    for await (const _ of ctx.changes()) {
      const first = ctx
        .list<LinkStatusSpec>({ namespace: NamespaceName.network, type: LinkStatusType })
        .filter((l) => isPhysicalLink(l.spec))
        .sort((a, b) => (a.metadata.id < b.metadata.id ? -1 : a.metadata.id > b.metadata.id ? 1 : 0))[0];
      if (first) {
        const spec: HardwareAddrSpec = { name: first.metadata.id, hardwareAddr: first.spec.hardwareAddr };
        ctx.modify<HardwareAddrSpec>(pointer, spec, (d) => {
          d.spec = spec;
        });
      } else if (ctx.find(pointer) && ctx.teardown(pointer)) {
        ctx.destroy(pointer);
      }
    }
  }
}
