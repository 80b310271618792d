import type { Controller, ControllerContext, Resource } from '@talos-ts/cosi';
import { LinkSpecType, LinkStatusType, NamespaceName, type LinkSpecSpec } from '@talos-ts/machinery';
import type { KernelLink, NetworkKernel } from '../../linux/rtnetlink.ts';
import { report } from './address-spec.ts';

const FINALIZER = 'network.LinkSpecController';

/**
 * network.LinkSpecController: creates the logical links (vlan, bond, bridge, dummy) the merged
 * LinkSpecs name, enslaves bond and bridge members, sets MTU and up; deletes a logical link we
 * created and brings a physical one down when its spec goes away. A link whose parent or master
 * is missing is reported and retried when the kernel's links change; the others go on.
 */
export class LinkSpecController implements Controller {
  readonly name = 'network.LinkSpecController';
  readonly inputs = [
    { namespace: NamespaceName.network, type: LinkSpecType, kind: 'strong' as const },
    { namespace: NamespaceName.network, type: LinkStatusType, kind: 'weak' as const },
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
      const specs = ctx.list<LinkSpecSpec>({ namespace: NamespaceName.network, type: LinkSpecType });
      // Masters before members, parents before VLANs: logical links first.
      const ordered = [...specs].sort((a, b) => rank(a.spec) - rank(b.spec));
      const logical = new Set(specs.filter((r) => r.spec.logical && r.metadata.phase === 'running').map((r) => r.spec.name));
      const managedMasters = new Set(kernel.links().filter((l) => logical.has(l.name)).map((l) => l.index));
      for (const r of ordered) {
        try {
          this.#apply(ctx, kernel, r, managedMasters);
          failed.delete(r.metadata.id);
        } catch (err) {
          report(ctx, failed, r.metadata.id, (err as Error).message);
        }
      }
    }
  }

  #apply(ctx: ControllerContext, kernel: NetworkKernel, r: Resource<LinkSpecSpec>, managedMasters: ReadonlySet<number>): void {
    const spec = r.spec;
    const p = { namespace: r.metadata.namespace, type: r.metadata.type, id: r.metadata.id };
    const byName = (): Map<string, KernelLink> => new Map(kernel.links().map((l) => [l.name, l]));
    let links = byName();
    let link = links.get(spec.name);
    if (r.metadata.phase === 'tearingDown') {
      if (link && spec.logical) kernel.deleteLink(link.index);
      else if (link && spec.name !== 'lo') {
        if (link.masterIndex !== 0 && managedMasters.has(link.masterIndex)) kernel.setLink(link.index, { masterIndex: 0 });
        if (link.up) kernel.setLink(link.index, { up: false });
      }
      if (r.metadata.finalizers.includes(FINALIZER)) ctx.removeFinalizer(p, FINALIZER);
      return;
    }
    if (!r.metadata.finalizers.includes(FINALIZER)) ctx.addFinalizer(p, FINALIZER);
    if (!link) {
      if (!spec.logical) throw new Error(`link ${spec.name} does not exist`);
      const parent = spec.parentName ? links.get(spec.parentName) : undefined;
      if (spec.kind === 'vlan' && !parent) throw new Error(`vlan ${spec.name}: parent link ${spec.parentName ?? ''} does not exist`);
      kernel.createLink({
        name: spec.name,
        kind: spec.kind,
        ...(parent ? { parentIndex: parent.index } : {}),
        ...(spec.vlan ? { vlan: spec.vlan } : {}),
        ...(spec.bondMaster ? { bond: spec.bondMaster } : {}),
        ...(spec.mtu ? { mtu: spec.mtu } : {}),
      });
      ctx.logger.info('link created', { link: spec.name, kind: spec.kind });
      links = byName();
      link = links.get(spec.name);
      if (!link) throw new Error(`link ${spec.name} was created but is not listed`);
    }
    const masterName = spec.masterName ?? spec.bridgeSlave?.masterName;
    if (masterName === undefined && link.masterIndex !== 0 && managedMasters.has(link.masterIndex)) {
      // Taken out of a bond or bridge we manage: release it.
      kernel.setLink(link.index, { masterIndex: 0 });
    }
    if (masterName !== undefined) {
      const master = links.get(masterName);
      if (!master) throw new Error(`link ${spec.name}: master ${masterName} does not exist`);
      if (link.masterIndex !== master.index) {
        // A bond takes only members that are down.
        if (link.up) kernel.setLink(link.index, { up: false });
        kernel.setLink(link.index, { masterIndex: master.index });
        link = { ...link, up: false };
      }
    }
    if (spec.mtu && spec.mtu !== link.mtu) kernel.setLink(link.index, { mtu: spec.mtu });
    if (spec.up && !link.up) kernel.setLink(link.index, { up: true });
  }
}

function rank(s: LinkSpecSpec): number {
  if (s.logical && s.kind !== 'vlan') return 0;
  if (s.kind === 'vlan') return 2;
  return 1;
}
