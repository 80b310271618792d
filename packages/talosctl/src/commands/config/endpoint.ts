import type { Command } from 'commander';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, selectedContext, withContext, writeConfig } from './config.ts';

/** `talosctl config endpoint E...` (alias `endpoints`): replaces the selected context's endpoints. */
export const registerConfigEndpoint: CommandRegistrar = (parent: Command, _io: CliIo) => {
  configGroup(parent)
    .command('endpoint')
    .alias('endpoints')
    .argument('<endpoint...>')
    .description('Set the endpoint(s) for the current context')
    .action(async (endpoints: string[], _opts: unknown, cmd: Command) => {
      const { path, config } = await openConfig(cmd);
      const { name, context } = selectedContext(cmd, config);
      await writeConfig(path, withContext(config, name, { ...context, endpoints: endpoints.map((e) => e.trim()) }));
    });
};
