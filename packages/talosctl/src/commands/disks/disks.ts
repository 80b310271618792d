import type { Command } from 'commander';
import { CliError, type CommandRegistrar } from '../../cli.ts';

/** `talosctl disks`: kept as upstream keeps it, hidden and pointing to the resources that replaced it. */
export const registerDisks: CommandRegistrar = (parent: Command) => {
  parent
    .command('disks', { hidden: true })
    .description('Get the list of disks from /sys/block on the machine')
    .action(() => {
      throw new CliError('`talosctl disks` is deprecated, please use `talosctl get disks`, `talosctl get systemdisk`, `talosctl get discoveredvolumes` instead');
    });
};
