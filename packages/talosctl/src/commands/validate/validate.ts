import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { VALIDATION_MODES, formatIssue, loadConfig, validateConfig, type ValidationMode } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';

interface ValidateFlags {
  config?: string;
  mode?: string;
  strict?: boolean;
}

/** `talosctl validate`: loads a machine config file and checks it for a mode, as upstream does. */
export const registerValidate: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('validate')
    .description('Validate config')
    .option('-c, --config <file>', 'the path of the config file')
    .option('-m, --mode <mode>', `the mode to validate the config for (valid values are ${VALIDATION_MODES.join(', ')})`)
    .option('--strict', 'treat validation warnings as errors')
    .action(async (flags: ValidateFlags) => {
      const file = flags.config;
      if (!file) throw new CliError('required flag "config" not set');
      const mode = flags.mode;
      if (!mode) throw new CliError('required flag "mode" not set');
      if (!(VALIDATION_MODES as readonly string[]).includes(mode)) {
        throw new CliError(`unknown mode ${JSON.stringify(mode)} (valid values are ${VALIDATION_MODES.join(', ')})`);
      }
      let text: Buffer;
      try {
        // Bytes, not 'utf8' text: the loader refuses invalid UTF-8 instead of reading U+FFFD.
        text = await readFile(file);
      } catch (err) {
        throw new CliError(`${file}: ${err instanceof Error ? err.message : String(err)}`);
      }
      const loaded = loadConfig(text, { filename: file });
      if (loaded.error) throw new CliError(loaded.error.message);
      const result = validateConfig(loaded.value, { mode: mode as ValidationMode, strict: flags.strict ?? false });
      for (const w of result.warnings) io.err(`warning: ${formatIssue(file, w)}\n`);
      if (result.errors.length > 0) {
        for (const e of result.errors.slice(0, -1)) io.err(`error: ${formatIssue(file, e)}\n`);
        const last = result.errors[result.errors.length - 1];
        // The last problem goes out through CliError so the exit code follows the usual path.
        throw new CliError(last ? formatIssue(file, last) : `${file} is not valid for ${mode} mode`);
      }
      io.out(`${file} is valid for ${mode} mode\n`);
    });
};
