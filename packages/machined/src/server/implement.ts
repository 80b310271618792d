import type { DescService } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import { methodPath, type CallContext, type ServiceImplementation } from '@talos-ts/machinery';
import { authorize, type Principal } from './authz.ts';

/** Handlers for part of a service; the rest answer Unimplemented. */
export type PartialImplementation<S extends DescService> = Partial<ServiceImplementation<S>>;

/**
 * A full implementation from a partial one, with every call authorized first: principal(ctx)
 * says who calls (roles from apid's metadata, or the maintenance principal).
 */
export function implement<S extends DescService>(
  service: S,
  partial: PartialImplementation<S>,
  principal: (ctx: CallContext) => Principal,
): ServiceImplementation<S> {
  const out: Record<string, unknown> = {};
  const given = partial as Record<string, ((...args: unknown[]) => unknown) | undefined>;
  for (const m of service.methods) {
    const path = methodPath(m);
    const h = given[m.localName];
    const streaming = m.methodKind === 'server_streaming' || m.methodKind === 'bidi_streaming';
    if (streaming) {
      out[m.localName] = async function* (req: unknown, ctx: CallContext) {
        authorize(principal(ctx), path);
        if (!h) throw new TalosError(Code.Unimplemented, `${path} is not implemented`);
        yield* h(req, ctx) as AsyncIterable<unknown>;
      };
    } else {
      out[m.localName] = async (req: unknown, ctx: CallContext) => {
        authorize(principal(ctx), path);
        if (!h) throw new TalosError(Code.Unimplemented, `${path} is not implemented`);
        return h(req, ctx);
      };
    }
  }
  return out as ServiceImplementation<S>;
}
