import { removeUnproduced, type Controller, type ControllerContext } from '@talos-ts/cosi';
import { AddressStatusType, NamespaceName, addressId, type AddressStatusSpec } from '@talos-ts/machinery';
import { RtnlGroups, type NetworkKernel } from '../../linux/rtnetlink.ts';

/** network.AddressStatusController: one AddressStatus per kernel address (`<link>/<cidr>`), refreshed on notifications. */
export class AddressStatusController implements Controller {
  readonly name = 'network.AddressStatusController';
  readonly inputs = [];
  readonly outputs = [{ type: AddressStatusType, kind: 'exclusive' as const }];
  readonly #openKernel: () => NetworkKernel;

  /** `openKernel` opens the kernel's networking for one run (a socket per run, closed when it ends). */
  constructor(options: { openKernel: () => NetworkKernel }) {
    this.#openKernel = options.openKernel;
  }

  async run(ctx: ControllerContext): Promise<void> {
    using kernel = this.#openKernel();
    // Link notifications too: a renamed or removed link changes the ids of its addresses.
    using _watch = kernel.watch(RtnlGroups.address | RtnlGroups.link, () => ctx.requeueAfter(0));
    const kind = { namespace: NamespaceName.network, type: AddressStatusType };
    for await (const _ of ctx.changes()) {
      const names = new Map(kernel.links().map((l) => [l.index, l.name]));
      const produced = new Set<string>();
      for (const a of kernel.addresses()) {
        const linkName = names.get(a.linkIndex) ?? String(a.linkIndex);
        const id = addressId(linkName, a.address);
        const spec: AddressStatusSpec = {
          address: a.address,
          ...(a.local ? { local: a.local } : {}),
          ...(a.broadcast ? { broadcast: a.broadcast } : {}),
          linkIndex: a.linkIndex,
          linkName,
          family: a.family,
          scope: a.scope as AddressStatusSpec['scope'],
          flags: a.flags,
          priority: 0,
        };
        produced.add(id);
        ctx.modify<AddressStatusSpec>({ ...kind, id }, spec, (d) => {
          d.spec = spec;
        });
      }
      removeUnproduced(ctx, kind, this.name, produced);
    }
  }
}
