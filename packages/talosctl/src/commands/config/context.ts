import type { Command } from 'commander';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, writeConfig } from './config.ts';

/** `talosctl config context NAME` (alias `use-context`): switches the current context. */
export const registerConfigContext: CommandRegistrar = (parent: Command, _io: CliIo) => {
  configGroup(parent)
    .command('context')
    .alias('use-context')
    .argument('<context>')
    .description('Set the current context')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const { path, config } = await openConfig(cmd);
      if (!config.contexts[name]) throw new CliError(`context "${name}" is not defined`);
      await writeConfig(path, { context: name, contexts: config.contexts });
    });
};
