import type { Controller, ControllerContext, InputKind } from '../controller.ts';
import type { Kind, Resource, StringMap } from '../resource.ts';
import { removeUnproduced } from './cleanup.ts';

/** One output produced from one input. */
export interface TransformResult<O> {
  /** Output id; defaults to the input's id. */
  readonly id?: string;
  readonly spec: O;
  readonly labels?: StringMap;
}

/** Options of {@link createTransformController}. */
export interface TransformOptions<I, O> {
  readonly name: string;
  readonly input: Kind & { readonly kind?: InputKind };
  /** Output kind; its type must be exclusive to this controller. */
  readonly output: Kind;
  /** Maps an input to its output, or to undefined when this input produces nothing. */
  readonly transform: (input: Resource<I>) => TransformResult<O> | undefined;
}

/**
 * A controller that maps each input resource to one output resource. Outputs follow their inputs:
 * changed when the input changes, removed when the input goes away or starts tearing down.
 */
export function createTransformController<I, O>(options: TransformOptions<I, O>): Controller {
  const { name, input, output, transform } = options;
  return {
    name,
    inputs: [
      { namespace: input.namespace, type: input.type, kind: input.kind ?? 'weak' },
      // Wakes us when an output we tore down is released by its finalizers, to destroy it.
      { namespace: output.namespace, type: output.type, kind: 'destroyReady' },
    ],
    outputs: [{ type: output.type, kind: 'exclusive' }],
    async run(ctx: ControllerContext) {
      for await (const _ of ctx.changes()) {
        const produced = new Set<string>();
        for (const r of ctx.list<I>(input)) {
          if (r.metadata.phase !== 'running') continue;
          const result = transform(r);
          if (!result) continue;
          const id = result.id ?? r.metadata.id;
          produced.add(id);
          ctx.modify<O>({ ...output, id }, result.spec, (d) => {
            d.spec = result.spec;
            if (result.labels) d.labels = { ...result.labels };
          });
        }
        removeUnproduced(ctx, output, name, produced);
      }
    },
  };
}
