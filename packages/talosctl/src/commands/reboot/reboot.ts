import type { Command } from 'commander';
import { machinePb, type TalosClient } from '@talos-ts/machinery';
import { NodeErrors, withApiClient, type ApiSession } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { trackAction, type TrackOptions } from '../../track.ts';
import { parseDurationSeconds } from '../events/events.ts';

/** Reports per-node failures of a lifecycle reply (reboot, shutdown, reset). */
export function checkLifecycle(messages: readonly { metadata?: { hostname: string; error: string } | undefined }[], nodeName: (h: string | undefined) => string): void {
  const errors = new NodeErrors();
  for (const m of messages) errors.check(m.metadata, nodeName);
  errors.throwIfAny();
}

/** The flags every tracked lifecycle command takes, with upstream's defaults. */
export interface TrackFlags {
  wait: boolean;
  debug?: boolean;
  timeout: string;
}

/** Declares --wait, --debug and --timeout as upstream's reboot, shutdown and reset do. */
export function addTrackFlags(cmd: Command): Command {
  return cmd
    .option('--wait', 'wait for the operation to complete, tracking its progress. always set to true when --debug is set', true)
    .option('--debug', 'debug operation from kernel logs. --wait is set to true when this flag is set')
    .option('--timeout <duration>', 'time to wait for the operation is complete if --debug or --wait is set', '30m');
}

/** The one reply of a per-node lifecycle call: fails on its error, returns its actor id. */
export function actorOf(messages: readonly { metadata?: { error: string } | undefined; actorId: string }[]): string {
  const m = messages[0];
  if (!m) throw new CliError('no messages returned from action run');
  if (m.metadata?.error) throw new CliError(m.metadata.error);
  return m.actorId;
}

/**
 * Runs a lifecycle action: at once on every node with --wait=false, else per node, followed
 * through its events until `until` holds.
 */
export async function runLifecycle(
  cmd: Command,
  io: CliIo,
  flags: TrackFlags,
  call: {
    readonly all: (s: ApiSession) => Promise<void>;
    readonly one: (client: TalosClient, signal: AbortSignal) => Promise<string>;
    readonly until: TrackOptions['until'];
  },
): Promise<void> {
  const timeoutMs = parseDurationSeconds(flags.timeout) * 1000;
  if (!(flags.wait || flags.debug)) {
    await withApiClient(cmd, call.all);
    return;
  }
  await withApiClient(cmd, (s) => trackAction(s, io, { action: call.one, until: call.until, timeoutMs, debug: flags.debug === true }));
}

/** `talosctl reboot`: reboots the nodes and, unless --wait=false, follows them until they are back. */
export const registerReboot: CommandRegistrar = (parent: Command, io: CliIo) => {
  addTrackFlags(
    parent
      .command('reboot')
      .description('Reboot a node')
      .option('-m, --mode <mode>', 'select the reboot mode: "default", "powercycle" (skips kexec)', 'default'),
  ).action(async (opts: TrackFlags & { mode: string }, cmd: Command) => {
    const mode = opts.mode === 'default' ? machinePb.RebootRequest_Mode.DEFAULT : opts.mode === 'powercycle' ? machinePb.RebootRequest_Mode.POWERCYCLE : undefined;
    if (mode === undefined) throw new CliError(`invalid reboot mode: "${opts.mode}"`);
    await runLifecycle(cmd, io, opts, {
      all: async (s) => checkLifecycle((await s.client.machine.reboot({ mode }, { signal: s.signal })).messages, s.nodeName),
      one: async (client, signal) => actorOf((await client.machine.reboot({ mode }, { signal })).messages),
      until: 'ready',
    });
  });
};
