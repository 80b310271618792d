import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';

/** `talosctl mounts` (alias `mount`): mounted filesystems and their usage in GB. */
export const registerMounts: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('mounts')
    .alias('mount')
    .description('List mounts')
    .action(async (_opts: unknown, cmd: Command) => {
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.mounts({}, { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'FILESYSTEM', 'SIZE(GB)', 'USED(GB)', 'AVAILABLE(GB)', 'PERCENT USED', 'MOUNTED ON']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          for (const r of m.stats) {
            const size = Number(r.size);
            const avail = Number(r.available);
            // Pseudo filesystems report size 0: upstream leaves them out (its percentage is NaN).
            if (size === 0) continue;
            w.row([
              s.nodeName(m.metadata?.hostname),
              r.filesystem,
              (size * 1e-9).toFixed(2),
              ((size - avail) * 1e-9).toFixed(2),
              (avail * 1e-9).toFixed(2),
              `${(100 - (100 * avail) / size).toFixed(2)}%`,
              r.mountedOn,
            ]);
          }
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
