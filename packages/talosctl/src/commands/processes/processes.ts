import { basename } from 'node:path';
import type { Command } from 'commander';
import type { machinePb } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { TabWriter } from '../../output/table.ts';
import { humanBytes } from '../etcd/etcd.ts';

/** The command line as upstream shows it: the executable's full path in place of argv[0], printable ASCII only. */
export function processArgs(p: Pick<machinePb.ProcessInfo, 'executable' | 'command' | 'args'>): string {
  let args: string;
  const first = p.args.split(/\s+/)[0] ?? '';
  if (p.executable === '') args = p.command;
  else if (p.args !== '' && first === basename(p.executable.split(/\s+/)[0] ?? '')) args = p.args.replace(first, p.executable);
  else args = p.args;
  return args.replace(/[^\x20-\x7e]/g, ' ');
}

/** `talosctl processes` (aliases `ps`, `p`): the processes of the nodes, biggest first. */
export const registerProcesses: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('processes')
    .aliases(['ps', 'p'])
    .description('List running processes')
    .option('-s, --sort <column>', 'Column to sort output by. [rss|cpu]', 'rss')
    .action(async (opts: { sort: string }, cmd: Command) => {
      if (opts.sort !== 'rss' && opts.sort !== 'cpu') throw new CliError(`invalid sort column "${opts.sort}": use rss or cpu`);
      await withApiClient(cmd, async (s) => {
        const res = await s.client.machine.processes({}, { signal: s.signal });
        const errors = new NodeErrors();
        const w = new TabWriter(io.out);
        w.row(['NODE', 'PID', 'STATE', 'THREADS', 'CPU-TIME', 'VIRTMEM', 'RESMEM', 'LABEL', 'COMMAND']);
        for (const m of res.messages) {
          if (errors.check(m.metadata, s.nodeName)) continue;
          const procs = [...m.processes].sort((a, b) =>
            opts.sort === 'cpu' ? b.cpuTime - a.cpuTime : Number(b.residentMemory - a.residentMemory),
          );
          for (const p of procs) {
            w.row([
              s.nodeName(m.metadata?.hostname),
              String(p.pid),
              p.state,
              String(p.threads),
              p.cpuTime.toFixed(2),
              humanBytes(Number(p.virtualMemory)),
              humanBytes(Number(p.residentMemory)),
              p.label,
              processArgs(p),
            ]);
          }
        }
        w.flush();
        errors.throwIfAny();
      });
    });
};
