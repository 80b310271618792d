import type { Command } from 'commander';
import type { TalosconfigContext } from '@talos-ts/machinery';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, selectedContext, withContext, writeConfig } from './config.ts';

/** `talosctl config node N...` (alias `nodes`): replaces the selected context's nodes; none clears them. */
export const registerConfigNode: CommandRegistrar = (parent: Command, _io: CliIo) => {
  configGroup(parent)
    .command('node')
    .alias('nodes')
    .argument('[node...]')
    .description('Set the node(s) for the current context')
    .action(async (nodes: string[], _opts: unknown, cmd: Command) => {
      const { path, config } = await openConfig(cmd);
      const { name, context } = selectedContext(cmd, config);
      const { nodes: _old, ...rest } = context;
      const next: TalosconfigContext = nodes.length > 0 ? { ...rest, nodes: nodes.map((n) => n.trim()) } : rest;
      await writeConfig(path, withContext(config, name, next));
    });
};
