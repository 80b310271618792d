import type { Command } from 'commander';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { actorOf, addTrackFlags, checkLifecycle, runLifecycle, type TrackFlags } from '../reboot/reboot.ts';

/** `talosctl shutdown`: powers the nodes off (--force skips cordon and drain); waits until they are down. */
export const registerShutdown: CommandRegistrar = (parent: Command, io: CliIo) => {
  addTrackFlags(parent.command('shutdown').description('Shutdown a node').option('--force', 'if true, force a node to shutdown without a cordon/drain')).action(
    async (opts: TrackFlags & { force?: boolean }, cmd: Command) => {
      const force = opts.force === true;
      await runLifecycle(cmd, io, opts, {
        all: async (s) => checkLifecycle((await s.client.machine.shutdown({ force }, { signal: s.signal })).messages, s.nodeName),
        one: async (client, signal) => actorOf((await client.machine.shutdown({ force }, { signal })).messages),
        until: 'down',
      });
    },
  );
};
