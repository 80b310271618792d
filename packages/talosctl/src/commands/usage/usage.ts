import type { Command } from 'commander';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { humanBytes } from '../etcd/etcd.ts';

function integer(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n)) throw new CliError(`invalid argument "${text}" for "${name}" flag: not an integer`);
  return n;
}

/** `talosctl usage [paths...]` (alias `du`): disk usage under paths of the node. */
export const registerUsage: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('usage')
    .alias('du')
    .description('Retrieve a disk usage')
    .argument('[paths...]', 'paths on the node', ['/'])
    .option('-H, --humanize', 'humanize size and time in the output')
    .option('-a, --all', 'write counts for all files, not just directories')
    .option('-t, --threshold <size>', 'threshold exclude entries smaller than SIZE if positive, or entries greater than SIZE if negative', '0')
    .option('-d, --depth <depth>', 'maximum recursion depth', '0')
    .action(async (paths: string[], opts: { humanize?: boolean; all?: boolean; threshold: string; depth: string }, cmd: Command) => {
      const threshold = BigInt(integer('-t, --threshold', opts.threshold));
      const depth = integer('-d, --depth', opts.depth);
      await withApiClient(cmd, async (s) => {
        const multi = s.nodes.length > 1;
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(multi ? ['NODE', 'SIZE', 'NAME'] : ['SIZE', 'NAME']);
        const stream = s.client.machine.diskUsage({ paths, all: opts.all === true, threshold, recursionDepth: depth }, { signal: s.signal });
        for await (const info of stream) {
          if (errors.check(info.metadata, s.nodeName)) continue;
          const node = s.nodeName(info.metadata?.hostname);
          if (info.error !== '') {
            errors.add(node, new Error(`error reading file ${info.name}: ${info.error}`));
            continue;
          }
          const size = opts.humanize ? humanBytes(Number(info.size)) : String(info.size);
          w.row(multi ? [node, size, info.name] : [size, info.name]);
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
