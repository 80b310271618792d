import type { Controller, ControllerContext } from '@talos-ts/cosi';
import { MountStatusType, NamespaceName, newMountStatus, type MountStatusSpec } from '@talos-ts/machinery';
import { readMounts, type MountEntry } from '../../linux/mounts.ts';

/** Options of {@link MountStatusController}. */
export interface MountStatusControllerOptions {
  /** Reads the mount table (default: /proc/self/mounts). */
  readonly readMounts?: () => MountEntry[];
  /** How often the table is read again (default 10 s); mounts change rarely after boot. */
  readonly refreshMs?: number;
}

/** Publishes the node's mounts as MountStatus resources (`talosctl get mounts`), one per mount point. */
export class MountStatusController implements Controller {
  readonly name = 'runtime.MountStatusController';
  readonly inputs = [];
  readonly outputs = [{ type: MountStatusType, kind: 'exclusive' as const }];
  readonly #read: () => MountEntry[];
  readonly #refreshMs: number;

  constructor(options: MountStatusControllerOptions = {}) {
    this.#read = options.readMounts ?? (() => readMounts());
    this.#refreshMs = options.refreshMs ?? 10_000;
  }

  async run(ctx: ControllerContext): Promise<void> {
    for await (const _ of ctx.changes()) {
      const seen = new Set<string>();
      for (const m of this.#read()) {
        // A mount point mounted over keeps only its topmost entry, as the path resolves to it.
        seen.add(m.target);
        const spec: MountStatusSpec = { source: m.source, target: m.target, filesystemType: m.filesystemType, options: m.options, encrypted: false };
        ctx.modify<MountStatusSpec>(newMountStatus(spec).metadata, spec, (d) => {
          d.spec = spec;
        });
      }
      for (const r of ctx.list({ namespace: NamespaceName.runtime, type: MountStatusType })) {
        if (!seen.has(r.metadata.id)) ctx.destroy(r.metadata);
      }
      ctx.requeueAfter(this.#refreshMs);
    }
  }
}
