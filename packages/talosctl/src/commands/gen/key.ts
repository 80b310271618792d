import type { Command } from 'commander';
import { generateKey, privateKeyToPem } from '@talos-ts/machinery';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { ensureWritable, forceFlag, genGroup, writeSecretFile } from './gen.ts';

/** `talosctl gen key`: an Ed25519 private key in N.key. */
export const registerGenKey: CommandRegistrar = (parent: Command, _io: CliIo) => {
  genGroup(parent)
    .command('key')
    .description('Generates an Ed25519 private key')
    .requiredOption('--name <name>', 'the basename of the generated file')
    .option(...forceFlag)
    .action(async (opts: { name: string; force?: boolean }) => {
      const file = `${opts.name}.key`;
      ensureWritable([file], opts.force);
      await writeSecretFile(file, privateKeyToPem(await generateKey('ed25519')));
    });
};
