import type { Controller, ControllerContext, Resource } from '@talos-ts/cosi';
import { AddressSpecType, AddressStatusType, LinkStatusType, NamespaceName, type AddressSpecSpec } from '@talos-ts/machinery';
import type { NetworkKernel } from '../../linux/rtnetlink.ts';

const FINALIZER = 'network.AddressSpecController';

/**
 * network.AddressSpecController: puts the merged AddressSpecs on their links and takes an address
 * off when its spec is torn down (a finalizer holds the spec until then), so an address removed
 * from the config leaves the kernel and nothing else is touched. Runs again when the kernel's links
 * or addresses change: a link that appears late gets its addresses, one removed by hand comes back.
 */
export class AddressSpecController implements Controller {
  readonly name = 'network.AddressSpecController';
  readonly inputs = [
    { namespace: NamespaceName.network, type: AddressSpecType, kind: 'strong' as const },
    { namespace: NamespaceName.network, type: LinkStatusType, kind: 'weak' as const },
    { namespace: NamespaceName.network, type: AddressStatusType, kind: 'weak' as const },
  ];
  readonly outputs = [];
  readonly #openKernel: () => NetworkKernel;
  readonly #announce: ((linkName: string, ip: string) => void) | undefined;

  /**
   * `openKernel` opens the kernel's networking for one run (a socket per run, closed when it ends);
   * `announce` sends a gratuitous ARP for an address marked `announceWithARP` once it is added.
   */
  constructor(options: { openKernel: () => NetworkKernel; announce?: (linkName: string, ip: string) => void }) {
    this.#openKernel = options.openKernel;
    this.#announce = options.announce;
  }

  async run(ctx: ControllerContext): Promise<void> {
    using kernel = this.#openKernel();
    const failed = new Map<string, string>();
    for await (const _ of ctx.changes()) {
      const specs = ctx.list<AddressSpecSpec>({ namespace: NamespaceName.network, type: AddressSpecType });
      const links = new Map(kernel.links().map((l) => [l.name, l.index]));
      const present = new Set(kernel.addresses().map((a) => `${a.linkIndex}/${a.address}`));
      for (const r of specs) {
        const index = links.get(r.spec.linkName);
        const key = index === undefined ? undefined : `${index}/${r.spec.address}`;
        try {
          if (r.metadata.phase === 'tearingDown') {
            if (key !== undefined && present.has(key)) kernel.deleteAddress(index as number, r.spec.address);
            if (r.metadata.finalizers.includes(FINALIZER)) ctx.removeFinalizer(pointer(r), FINALIZER);
            continue;
          }
          if (!r.metadata.finalizers.includes(FINALIZER)) ctx.addFinalizer(pointer(r), FINALIZER);
          if (index === undefined) {
            report(ctx, failed, r.metadata.id, `link ${r.spec.linkName} does not exist (yet)`);
            continue;
          }
          if (!present.has(key as string)) {
            kernel.addAddress(index, r.spec.address, r.spec.scope);
            ctx.logger.info('address added', { address: r.spec.address, link: r.spec.linkName });
            // Neighbours still map a moved address (a VIP) to its previous holder until told.
            if (r.spec.announceWithARP && r.spec.family === 'inet4' && this.#announce) {
              try {
                this.#announce(r.spec.linkName, r.spec.address.split('/')[0] as string);
              } catch (err) {
                ctx.logger.warn('gratuitous ARP not sent', { address: r.spec.address, error: (err as Error).message });
              }
            }
          }
          failed.delete(r.metadata.id);
        } catch (err) {
          report(ctx, failed, r.metadata.id, (err as Error).message);
        }
      }
    }
  }
}

const pointer = (r: Resource<unknown>): { namespace: string; type: string; id: string } => ({ namespace: r.metadata.namespace, type: r.metadata.type, id: r.metadata.id });

/** Logs a failure once per distinct message; the rest of the specs go on. */
export function report(ctx: ControllerContext, failed: Map<string, string>, id: string, message: string): void {
  if (failed.get(id) === message) return;
  failed.set(id, message);
  ctx.logger.warn('network spec not applied', { id, error: message });
}
