import type { Controller, ControllerContext } from '../controller.ts';
import type { Kind, Resource } from '../resource.ts';
import { removeUnproduced } from './cleanup.ts';

/** Options of {@link createMergeController}. */
export interface MergeOptions<I, O> {
  readonly name: string;
  readonly input: Kind;
  readonly output: Kind;
  /** The output id an input contributes to (e.g. the link name of `configuration/eth0`). */
  readonly key: (input: Resource<I>) => string;
  /** The input's layer; higher layers win (default < cmdline < platform < operator < configuration). */
  readonly layer: (input: Resource<I>) => number;
  /**
   * Folds the inputs of one key, ordered from the lowest layer to the highest, into the output spec.
   * Defaults to "highest layer wins"; undefined produces nothing for the key.
   */
  readonly merge?: (layers: readonly Resource<I>[]) => O | undefined;
  /**
   * `shared` when the output type is also written elsewhere (network specs live in `network-config`
   * per source and in `network` merged; both are one type). Default `exclusive`.
   */
  readonly outputKind?: 'exclusive' | 'shared';
}

/** A controller that merges layered inputs into one output per key. */
export function createMergeController<I, O = I>(options: MergeOptions<I, O>): Controller {
  const { name, input, output, key, layer } = options;
  const merge = options.merge ?? ((layers: readonly Resource<I>[]) => (layers[layers.length - 1] as Resource<I>).spec as unknown as O);
  return {
    name,
    inputs: [
      { namespace: input.namespace, type: input.type, kind: 'weak' },
      // Wakes us when an output we tore down is released by its finalizers, to destroy it.
      { namespace: output.namespace, type: output.type, kind: 'destroyReady' },
    ],
    outputs: [{ type: output.type, kind: options.outputKind ?? 'exclusive' }],
    async run(ctx: ControllerContext) {
      for await (const _ of ctx.changes()) {
        const groups = new Map<string, Resource<I>[]>();
        for (const r of ctx.list<I>(input)) {
          if (r.metadata.phase !== 'running') continue;
          const k = key(r);
          const g = groups.get(k) ?? [];
          g.push(r);
          groups.set(k, g);
        }
        const produced = new Set<string>();
        for (const [id, g] of groups) {
          g.sort((a, b) => layer(a) - layer(b) || (a.metadata.id < b.metadata.id ? -1 : 1));
          const spec = merge(g);
          if (spec === undefined) continue;
          produced.add(id);
          ctx.modify<O>({ ...output, id }, spec, (d) => {
            d.spec = spec;
          });
        }
        removeUnproduced(ctx, output, name, produced);
      }
    },
  };
}
