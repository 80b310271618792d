import type { Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { CliError, listFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { actorOf, addTrackFlags, checkLifecycle, runLifecycle, type TrackFlags } from '../reboot/reboot.ts';

const wipeModes: Record<string, machinePb.ResetRequest_WipeMode> = {
  all: machinePb.ResetRequest_WipeMode.ALL,
  'system-disk': machinePb.ResetRequest_WipeMode.SYSTEM_DISK,
  'user-disks': machinePb.ResetRequest_WipeMode.USER_DISKS,
};

interface ResetFlags extends TrackFlags {
  graceful: boolean;
  reboot?: boolean;
  systemLabelsToWipe: string[];
  userDisksToWipe: string[];
  wipeMode: string;
}

/**
 * `talosctl reset`: wipes the nodes and powers them off (or reboots with --reboot); waits until
 * each is down. A reset node comes back in maintenance mode, which has no mTLS API to follow.
 */
export const registerReset: CommandRegistrar = (parent: Command, io: CliIo) => {
  addTrackFlags(parent.command('reset').description('Reset a node'))
    .option('--graceful', 'if true, attempt to cordon/drain node and leave etcd (if applicable)', true)
    .option('--reboot', 'if true, reboot the node after resetting instead of shutting down')
    .option('--system-labels-to-wipe <labels>', 'if set, just wipe selected system disk partitions by label but keep other partitions intact', listFlag, [])
    .option('--user-disks-to-wipe <disks>', 'if set, wipes defined devices in the list', listFlag, [])
    .option('--wipe-mode <mode>', 'disk reset mode (all, system-disk, user-disks)', 'all')
    .action(async (flags: ResetFlags, cmd: Command) => {
      const mode = wipeModes[flags.wipeMode];
      if (mode === undefined) throw new CliError(`invalid wipe mode: "${flags.wipeMode}"`);
      const request = {
        graceful: flags.graceful,
        reboot: flags.reboot === true,
        systemPartitionsToWipe: flags.systemLabelsToWipe.map((label) => ({ label, wipe: true })),
        userDisksToWipe: flags.userDisksToWipe,
        mode,
      };
      await runLifecycle(cmd, io, flags, {
        all: async (s) => checkLifecycle((await s.client.machine.reset(request, { signal: s.signal })).messages, s.nodeName),
        one: async (client, signal) => actorOf((await client.machine.reset(request, { signal })).messages),
        until: 'down',
      });
      if (flags.reboot === true && (flags.wait || flags.debug)) io.err('the nodes reboot into maintenance mode: reach them with --insecure\n');
    });
};
