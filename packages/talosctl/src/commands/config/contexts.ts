import type { Command } from 'commander';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { configGroup, formatTable, openConfig } from './config.ts';

/** `talosctl config contexts` (alias `get-contexts`): a table of contexts, `*` marking the current one. */
export const registerConfigContexts: CommandRegistrar = (parent: Command, io: CliIo) => {
  configGroup(parent)
    .command('contexts')
    .alias('get-contexts')
    .description('List defined contexts')
    .action(async (_opts: unknown, cmd: Command) => {
      const { config } = await openConfig(cmd);
      const rows: string[][] = [['CURRENT', 'NAME', 'ENDPOINTS', 'NODES']];
      for (const name of Object.keys(config.contexts).sort()) {
        const c = config.contexts[name];
        if (!c) continue;
        const nodes = c.nodes ?? [];
        rows.push([
          name === config.context ? '*' : '',
          name,
          c.endpoints.join(','),
          nodes.length > 3 ? `${nodes.slice(0, 3).join(',')}...` : nodes.join(','),
        ]);
      }
      io.out(formatTable(rows));
    });
};
