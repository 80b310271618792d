import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { applyPatches, loadConfig } from '@talos-ts/machinery';
import { CliError, arrayFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { resolvePatches } from '../../patches.ts';

interface PatchFlags {
  patch: string[];
  output?: string;
}

/** The `machineconfig` group, created on first use so other machineconfig commands can join it. */
export function machineConfigGroup(parent: Command): Command {
  const existing = parent.commands.find((c) => c.name() === 'machineconfig');
  return existing ?? parent.command('machineconfig').alias('mc').description('Machine config related commands');
}

async function readBytes(path: string): Promise<Buffer> {
  try {
    // Bytes, not 'utf8' text: the loader refuses invalid UTF-8 instead of reading U+FFFD.
    return await readFile(path);
  } catch (err) {
    throw new CliError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** `talosctl machineconfig patch FILE --patch P...`: applies patches (inline or @file) to a config file. */
export const registerMachineConfigPatch: CommandRegistrar = (parent: Command, io: CliIo) => {
  machineConfigGroup(parent)
    .command('patch <machineconfig-file>')
    .description('Patch a machine config')
    .option('-p, --patch <patch>', 'patch applied to the config: inline YAML/JSON or @file (repeatable)', arrayFlag, [])
    .option('-o, --output <file>', 'output destination; stdout when not set')
    .action(async (file: string, flags: PatchFlags) => {
      if (flags.patch.length === 0) throw new CliError('at least one --patch is required');
      const loaded = loadConfig(await readBytes(file), { filename: file });
      if (loaded.error) throw new CliError(loaded.error.message);
      const patches = await resolvePatches(flags.patch);
      const patched = applyPatches(loaded.value, patches);
      if (patched.error) throw new CliError(patched.error.message);
      const text = patched.value.toYaml();
      if (flags.output) {
        try {
          await writeFile(flags.output, text);
        } catch (err) {
          throw new CliError(`${flags.output}: ${err instanceof Error ? err.message : String(err)}`);
        }
      } else {
        io.out(text);
      }
    });
};
