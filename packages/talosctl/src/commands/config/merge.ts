import type { Command } from 'commander';
import { loadTalosconfig, mergeTalosconfig } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, writeConfig } from './config.ts';

/** `talosctl config merge FILE`: adds FILE's contexts; clashes are renamed name-N unless --force replaces them. */
export const registerConfigMerge: CommandRegistrar = (parent: Command, io: CliIo) => {
  configGroup(parent)
    .command('merge')
    .argument('<from>')
    .description('Merge additional contexts from another client configuration file')
    .option('--force', 'replace contexts with the same name instead of renaming them')
    .action(async (from: string, opts: { force?: boolean }, cmd: Command) => {
      const { path, config } = await openConfig(cmd);
      let other;
      try {
        other = await loadTalosconfig(from);
      } catch (err) {
        throw new CliError(`error reading config: ${(err as Error).message}`);
      }
      const { config: merged, renames } = mergeTalosconfig(config, other, { force: opts.force ?? false });
      for (const r of renames) io.err(`renamed talosconfig context "${r.from}" -> "${r.to}"\n`);
      await writeConfig(path, merged);
    });
};
