import { Code, TalosError, resolveResourceDefinition, type IdMatcher, type State, type WatchEvent } from '@talos-ts/cosi';
import type { cosiStatePb } from '@talos-ts/machinery';
import { RE2JS } from 're2js';
import { type CallContext } from '@talos-ts/machinery';
import { canReadSensitive, type Principal } from './authz.ts';
import type { PartialImplementation } from './implement.ts';
import { fromApiLabelQueries, toApiEvent, toApiResource } from './resources.ts';

/** What the State service needs from the node. */
export interface StateBackend {
  state(): State;
  principal(ctx: CallContext): Principal;
}

function checkReadable(backend: StateBackend, ctx: CallContext, type: string): void {
  // Unknown types are refused too: nothing is readable without a definition saying how sensitive it is.
  const def = resolveResourceDefinition(backend.state(), type);
  if (def.type !== type) throw new TalosError(Code.InvalidArgument, `resource type must be given in full: "${def.type}"`);
  if (def.sensitivity === 'sensitive' && !canReadSensitive(backend.principal(ctx))) {
    throw new TalosError(Code.PermissionDenied, `resource type ${type} is sensitive: os:admin role required`);
  }
}

/** Longest id query pattern accepted, in characters; resource ids are short, patterns need not be long. */
export const MAX_ID_QUERY_LENGTH = 1024;

/**
 * Compiles a client's id query. Upstream matches with Go's regexp (RE2 syntax, linear time); JS
 * RegExp backtracks, and one pattern like `([A-Za-z.]+)+!$` would hold machined's event loop for
 * minutes, so client patterns go through RE2JS, a linear-time port of RE2.
 */
export function compileIdQuery(source: string): IdMatcher | undefined {
  if (source === '') return undefined;
  if (source.length > MAX_ID_QUERY_LENGTH) {
    throw new TalosError(Code.InvalidArgument, `invalid id query: longer than ${MAX_ID_QUERY_LENGTH} characters (${source.length})`);
  }
  try {
    return RE2JS.compile(source);
  } catch (err) {
    // Syntax errors quote the pattern; the length cap above keeps that quote short.
    throw new TalosError(Code.InvalidArgument, `invalid id query: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** cosi.resource.State over the node's in-memory state: reads and watches; writes are refused. */
export function createStateService(backend: StateBackend): PartialImplementation<typeof cosiStatePb.State> {
  const readOnly = (): never => {
    throw new TalosError(Code.PermissionDenied, 'resources are read-only through the API; change the machine config instead');
  };
  return {
    get(req, ctx) {
      checkReadable(backend, ctx, req.type);
      const r = backend.state().get({ namespace: req.namespace, type: req.type, id: req.id });
      return { resource: toApiResource(r) };
    },
    async *list(req, ctx) {
      checkReadable(backend, ctx, req.type);
      const labelQuery = fromApiLabelQueries(req.options?.labelQuery ?? []);
      const idQuery = compileIdQuery(req.options?.idQuery?.regexp ?? '');
      const items = backend.state().list({ namespace: req.namespace, type: req.type }, {
        ...(labelQuery ? { labelQuery } : {}),
        ...(idQuery ? { idQuery } : {}),
      });
      for (const r of items) yield { resource: toApiResource(r) };
    },
    async *watch(req, ctx) {
      checkReadable(backend, ctx, req.type);
      const o = req.options;
      const labelQuery = fromApiLabelQueries(o?.labelQuery ?? []);
      const idQuery = compileIdQuery(o?.idQuery?.regexp ?? '');
      const options = {
        signal: ctx.signal,
        ...(o?.bootstrapContents ? { bootstrapContents: true } : {}),
        ...(o?.tailEvents ? { tailEvents: o.tailEvents } : {}),
        ...(labelQuery ? { labelQuery } : {}),
        ...(idQuery ? { idQuery } : {}),
      };
      const kind = { namespace: req.namespace, type: req.type };
      const watch = req.id !== undefined ? backend.state().watch({ ...kind, id: req.id }, options) : backend.state().watchKind(kind, options);
      // Clients that predate api_version 1 do not understand BOOTSTRAPPED/ERRORED events.
      const modern = req.apiVersion >= 1;
      try {
        for (let batch = await watch.nextBatch(); batch; batch = await watch.nextBatch()) {
          const events = batch.filter((e: WatchEvent) => modern || (e.type !== 'bootstrapped' && e.type !== 'errored'));
          // Aggregated watches get a burst per message; others one event per message, as upstream.
          if (o?.aggregated) {
            if (events.length > 0) yield { event: events.map(toApiEvent) };
          } else {
            for (const e of events) yield { event: [toApiEvent(e)] };
          }
          if (batch.some((e) => e.type === 'errored')) return;
        }
      } finally {
        watch.close();
      }
    },
    create: readOnly,
    update: readOnly,
    destroy: readOnly,
  };
}
