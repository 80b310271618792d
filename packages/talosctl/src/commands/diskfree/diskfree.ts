import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';

/** Bytes in powers of 1024 as go-humanize's IBytes prints them, with the space dropped as upstream's df does ("960MiB"). */
export function compactIBytes(n: bigint): string {
  if (n < 10n) return `${n}B`;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  const x = Number(n);
  const e = Math.min(Math.floor(Math.log(x) / Math.log(1024)), units.length - 1);
  const v = Math.floor((x / 1024 ** e) * 10 + 0.5) / 10;
  return `${v < 10 ? v.toFixed(1) : v.toFixed(0)}${units[e]}`;
}

/** Used over used+available, rounded up, as upstream's df: "-" when there is nothing to divide by. */
export function percentUp(used: bigint, total: bigint): string {
  if (total === 0n) return '-';
  const pct = (used * 100n) / total + ((used * 100n) % total === 0n ? 0n : 1n);
  return `${pct}%`;
}

/**
 * `talosctl diskfree|df [mount point]`: size, used and available space of the node's filesystems,
 * with upstream's columns. Upstream lists its block volumes (VolumeStatus/MountStatus resources)
 * and asks the storage service for statfs; Talos-TS has no volume resources yet, so this reads the
 * Mounts RPC: every filesystem with a size (pseudo filesystems report none), VOLUME shows "-",
 * the argument names a mount point rather than a volume ID, USED is size minus available (root's
 * reserved blocks count as used), and --inodes is refused because Mounts carries no inode counts.
 */
export const registerDiskFree: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('diskfree')
    .alias('df')
    .description('Retrieve disk usage information for mounted volumes')
    .argument('[mount point]', 'report only the filesystem mounted there')
    .option('-b, --bytes', 'print sizes in bytes rather than in human-readable format')
    .option('-i, --inodes', 'list inode information instead of block usage')
    .action(async (mountPoint: string | undefined, opts: { bytes?: boolean; inodes?: boolean }, cmd: Command) => {
      if (opts.inodes) throw new CliError('--inodes is not available yet: the Mounts API this command reads carries no inode counts');
      const size = (n: bigint): string => (opts.bytes ? n.toString() : compactIBytes(n));
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.mounts({}, { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'VOLUME', 'FILESYSTEM', 'SIZE', 'USED', 'AVAILABLE', 'USAGE', 'MOUNT POINT']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const node = s.nodeName(m.metadata?.hostname);
          const rows = m.stats.filter((r) => r.size > 0n && (mountPoint === undefined || r.mountedOn === mountPoint));
          if (mountPoint !== undefined && rows.length === 0) {
            errors.add(node, new Error(`${JSON.stringify(mountPoint)} is not a mount point with a filesystem of its own`));
            continue;
          }
          for (const r of rows) {
            const used = r.size > r.available ? r.size - r.available : 0n;
            w.row([node, '-', r.filesystem, size(r.size), size(used), size(r.available), percentUp(used, used + r.available), r.mountedOn]);
          }
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
