import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { Code, TalosError } from '@talos-ts/cosi';
import type { timePb } from '@talos-ts/machinery';
import type { PartialImplementation } from './implement.ts';

/** One NTP measurement as the time service needs it. */
export interface TimeCheckResult {
  /** This node's clock when the reply came (Unix ms). */
  readonly localMs: number;
  /** The server's time at that moment: local time plus the measured offset (Unix ms). */
  readonly remoteMs: number;
}

/** What {@link createTimeService} needs from the node. */
export interface TimeServiceDeps {
  /** machine.time.servers of the active config (empty when none). */
  readonly servers: () => readonly string[];
  /** Queries one server once, adjusting nothing. */
  readonly check: (server: string, signal: AbortSignal) => Promise<TimeCheckResult>;
  /** Used by Time when the config names no server (upstream: time.cloudflare.com). */
  readonly defaultServer: string;
}

/**
 * time.TimeService: Time asks the first configured server, TimeCheck the one named, each once;
 * the reply carries the node's time and the server's, from which `talosctl time` shows the offset.
 */
export function createTimeService(deps: TimeServiceDeps): PartialImplementation<typeof timePb.TimeService> {
  const check = async (server: string, signal: AbortSignal) => {
    if (server === '') throw new TalosError(Code.InvalidArgument, 'ntp server is required');
    let r: TimeCheckResult;
    try {
      r = await deps.check(server, signal);
    } catch (err) {
      if (err instanceof TalosError && err.code === Code.Canceled) throw err;
      const msg = err instanceof Error ? err.message : String(err);
      throw new TalosError(Code.Unavailable, `error querying NTP server "${server}": ${msg}`, { cause: err });
    }
    return {
      messages: [{ server, localtime: timestampFromMs(Math.round(r.localMs)), remotetime: timestampFromMs(Math.round(r.remoteMs)) }],
    };
  };
  return {
    time: (_req, ctx) => check(deps.servers()[0] ?? deps.defaultServer, ctx.signal),
    timeCheck: (req, ctx) => check(req.server, ctx.signal),
  };
}
