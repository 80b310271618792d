// Following a lifecycle action (reboot, shutdown, reset) to its end through the node's event
// stream, as upstream talosctl does by default: one progress line per event and node, the node
// going away (the stream breaks), coming back (the stream is re-opened until it answers) and,
// for a reboot, the machine reaching "running, ready".
//
// Which events belong to this action: upstream filters on the actor id the action's reply carries.
// A node that sends no actor id (ours today) is followed by event id instead: ids grow with time
// (upstream's xid and ours both sort), so only events newer than the last one seen before the
// action count, across reconnects and across a real reboot that empties the node's history.

import { fromBinary } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import { machinePb, type TalosClient } from '@talos-ts/machinery';
import type { ApiSession } from './api.ts';
import { CliError, type CliIo } from './cli.ts';
import { nodeTargets } from './targets.ts';

/** Options of {@link trackAction}. */
export interface TrackOptions {
  /** Runs the action against one node; returns the reply's actor id ('' when there is none). */
  readonly action: (client: TalosClient, signal: AbortSignal) => Promise<string>;
  /** `ready`: the node must go down and come back running and ready; `down`: it must stop. */
  readonly until: 'ready' | 'down';
  readonly timeoutMs: number;
  /** Keep the node's kernel log and print it for nodes that fail. */
  readonly debug?: boolean;
  /** Pause between reconnect attempts (default 1 s). */
  readonly retryMs?: number;
}

const fatalCodes = new Set([Code.PermissionDenied, Code.Unauthenticated, Code.Unimplemented, Code.InvalidArgument, Code.FailedPrecondition]);

function typeOf(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

interface Progress {
  message: string;
  /** The action reached its goal. */
  done?: boolean;
  /** The node went down (its shutdown/reboot sequence started). */
  down?: boolean;
  error?: string;
}

/** What one event says about the action's progress, in upstream's wording. */
export function describeEvent(typeUrl: string, value: Uint8Array, until: TrackOptions['until'], wentDown: boolean): Progress | undefined {
  switch (typeOf(typeUrl)) {
    case 'machine.SequenceEvent': {
      const e = fromBinary(machinePb.SequenceEventSchema, value);
      const action = machinePb.SequenceEvent_Action[e.action];
      const err = e.error?.message ? ` error: [code: ${e.error.code} message: ${e.error.message}]` : '';
      const message = `sequence: ${e.sequence} action: ${action}${err}`;
      if (err !== '') return { message, error: `sequence error: ${e.error?.message ?? ''}` };
      const stopping = ['reboot', 'shutdown', 'reset', 'upgrade'].includes(e.sequence);
      if (until === 'down' && e.sequence === 'shutdown' && e.action === machinePb.SequenceEvent_Action.STOP) return { message, done: true, down: true };
      return stopping ? { message, down: true } : { message };
    }
    case 'machine.PhaseEvent': {
      const e = fromBinary(machinePb.PhaseEventSchema, value);
      return { message: `phase: ${e.phase} action: ${machinePb.PhaseEvent_Action[e.action]}` };
    }
    case 'machine.TaskEvent': {
      const e = fromBinary(machinePb.TaskEventSchema, value);
      const message = `task: ${e.task} action: ${machinePb.TaskEvent_Action[e.action]}`;
      // Upstream's sign that a node is going down: every service has been stopped.
      if (e.task === 'stopAllServices') return until === 'down' ? { message, done: true, down: true } : { message, down: true };
      return { message };
    }
    case 'machine.MachineStatusEvent': {
      const e = fromBinary(machinePb.MachineStatusEventSchema, value);
      const stage = machinePb.MachineStatusEvent_MachineStage[e.stage];
      const ready = e.status?.ready === true;
      const unmet = (e.status?.unmetConditions ?? []).map((c) => `${c.name}: ${c.reason}`);
      const message = `stage: ${stage} ready: ${ready} unmetCond: [${unmet.join(', ')}]`;
      const running = e.stage === machinePb.MachineStatusEvent_MachineStage.RUNNING && ready;
      return until === 'ready' && running && wentDown ? { message, done: true } : { message };
    }
    case 'machine.ServiceStateEvent': {
      const e = fromBinary(machinePb.ServiceStateEventSchema, value);
      return { message: `service: ${e.service} message: ${e.message} healthy: ${e.health?.healthy === true}` };
    }
    default:
      return undefined;
  }
}

/** The id of the newest event the node has, or '' when it has none (or does not answer quickly). */
async function newestEventId(client: TalosClient, signal: AbortSignal): Promise<string> {
  const ac = new AbortController();
  const stop = (): void => ac.abort();
  signal.addEventListener('abort', stop, { once: true });
  const timer = setTimeout(stop, 2000);
  try {
    for await (const e of client.machine.events({ tailEvents: 1 }, { signal: ac.signal })) return e.id;
    return '';
  } catch (err) {
    if (ac.signal.aborted) return '';
    throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
    signal.removeEventListener('abort', stop);
  }
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done(): void {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

/** Keeps the last lines of a node's kernel log while the action runs (--debug). */
async function tailKernelLog(client: TalosClient, lines: string[], signal: AbortSignal, retryMs: number): Promise<void> {
  while (!signal.aborted) {
    try {
      for await (const d of client.machine.dmesg({ follow: true, tail: false }, { signal })) {
        lines.push(...Buffer.from(d.bytes).toString('utf8').split('\n').filter((l) => l !== ''));
        if (lines.length > 2000) lines.splice(0, lines.length - 2000);
      }
    } catch {
      // The node is going down or not back yet: try again.
    }
    await sleep(retryMs, signal);
  }
}

/**
 * Runs `action` on every targeted node and follows each to its end, printing progress lines
 * (`"NODE": message`) on stderr as upstream does when stderr is not a terminal. Fails with one
 * line per failed node; on timeout the nodes still running are named.
 */
export async function trackAction(s: ApiSession, io: CliIo, options: TrackOptions): Promise<void> {
  const retryMs = options.retryMs ?? 1000;
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const all = AbortSignal.any([s.signal, deadline]);
  const report = (node: string, message: string): void => io.err(`${JSON.stringify(node)}: ${message}\n`);
  const failures: string[] = [];
  const logs = new Map<string, string[]>();

  await Promise.all(
    nodeTargets(s).map(async ({ node, client }) => {
      const kernel: string[] = [];
      const stopLog = new AbortController();
      if (options.debug) {
        logs.set(node, kernel);
        void tailKernelLog(client, kernel, AbortSignal.any([all, stopLog.signal]), retryMs);
      }
      try {
        await followNode(node, client);
      } catch (err) {
        const message = deadline.aborted ? `timed out after ${options.timeoutMs / 1000}s waiting for the node` : TalosError.from(err).message;
        report(node, `error: ${message}`);
        failures.push(`${node}: ${message}`);
      } finally {
        stopLog.abort();
      }
    }),
  );
  if (options.debug) {
    const failed = [...logs].filter(([node]) => failures.some((f) => f.startsWith(`${node}:`)));
    if (failed.length > 0) {
      io.err(`console logs for nodes ${JSON.stringify(failed.map(([n]) => n))}:\n`);
      for (const [node, lines] of failed) for (const l of lines) io.err(`${node}: ${l}\n`);
    }
  }
  if (s.signal.aborted) return;
  if (failures.length > 0) throw new CliError(failures.join('\nerror: '));

  async function followNode(node: string, client: TalosClient): Promise<void> {
    let lastId = await newestEventId(client, all);
    report(node, 'waiting for actor ID');
    // Open the stream before acting (asking for the first event sends the call), from the newest
    // event on, so nothing the action causes is missed even if the node goes down quickly.
    let wentDown = false;
    const open = (): AsyncIterator<machinePb.Event> =>
      client.machine.events(lastId !== '' ? { tailId: lastId } : { tailEvents: wentDown ? -1 : 0 }, { signal: all })[Symbol.asyncIterator]();
    let events = open();
    let next = events.next();
    // Settled later in the loop; keep an early rejection from counting as unhandled.
    next.catch(() => {});
    const actorId = await options.action(client, all);
    report(node, `actor ID: ${actorId}`);
    for (;;) {
      try {
        for (;;) {
          const r = await next;
          if (r.done) throw new TalosError(Code.Unavailable, 'event stream ended');
          next = events.next();
          next.catch(() => {});
          const e = r.value;
          if (e.id !== '' && lastId !== '' && e.id <= lastId) continue;
          lastId = e.id || lastId;
          if (actorId !== '' && e.actorId !== '' && e.actorId !== actorId) continue;
          const p = describeEvent(e.data?.typeUrl ?? '', e.data?.value ?? new Uint8Array(), options.until, wentDown);
          if (!p) continue;
          report(node, p.message);
          if (p.error) throw new CliError(p.error);
          if (p.down) wentDown = true;
          if (p.done) {
            report(node, options.until === 'ready' ? 'events check condition met' : 'the node is down');
            void events.return?.();
            return;
          }
        }
      } catch (err) {
        if (all.aborted) throw err;
        if (err instanceof CliError) throw err;
        const e = TalosError.from(err);
        if (fatalCodes.has(e.code)) throw e;
        // The node dropped the connection: it is going down.
        wentDown = true;
        if (options.until === 'down') {
          report(node, 'the node is down');
          return;
        }
        report(node, 'unavailable, retrying...');
        await sleep(retryMs, all);
        if (all.aborted) throw err;
        events = open();
        next = events.next();
        next.catch(() => {});
      }
    }
  }
}
