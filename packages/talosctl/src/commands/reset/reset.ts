import type { Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { withApiClient } from '../../api.ts';
import { CliError, listFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { checkLifecycle } from '../reboot/reboot.ts';

const wipeModes: Record<string, machinePb.ResetRequest_WipeMode> = {
  all: machinePb.ResetRequest_WipeMode.ALL,
  'system-disk': machinePb.ResetRequest_WipeMode.SYSTEM_DISK,
  'user-disks': machinePb.ResetRequest_WipeMode.USER_DISKS,
};

interface ResetFlags {
  graceful: boolean;
  reboot?: boolean;
  systemLabelsToWipe: string[];
  userDisksToWipe: string[];
  wipeMode: string;
}

/** `talosctl reset`: wipes the nodes and powers them off (or reboots with --reboot). */
export const registerReset: CommandRegistrar = (parent: Command, _io: CliIo) => {
  parent
    .command('reset')
    .description('Reset a node')
    .option('--graceful [bool]', 'if true, attempt to cordon/drain node and leave etcd (if applicable)', (v: string) => v !== 'false', true)
    .option('--reboot', 'if true, reboot the node after resetting instead of shutting down')
    .option('--system-labels-to-wipe <labels>', 'if set, just wipe selected system disk partitions by label but keep other partitions intact', listFlag, [])
    .option('--user-disks-to-wipe <disks>', 'if set, wipes defined devices in the list', listFlag, [])
    .option('--wipe-mode <mode>', 'disk reset mode (all, system-disk, user-disks)', 'all')
    .action(async (flags: ResetFlags, cmd: Command) => {
      const mode = wipeModes[flags.wipeMode];
      if (mode === undefined) throw new CliError(`invalid wipe mode: "${flags.wipeMode}"`);
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.reset(
          {
            graceful: flags.graceful,
            reboot: flags.reboot === true,
            systemPartitionsToWipe: flags.systemLabelsToWipe.map((label) => ({ label, wipe: true })),
            userDisksToWipe: flags.userDisksToWipe,
            mode,
          },
          { signal: s.signal },
        );
        checkLifecycle(res.messages, s.nodeName);
      });
    });
};
