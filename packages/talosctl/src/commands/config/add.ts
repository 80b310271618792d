import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import type { TalosconfigContext } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { configGroup, openConfig, withContext, writeConfig } from './config.ts';

async function readBase64(path: string, what: string): Promise<string> {
  try {
    return (await readFile(path)).toString('base64');
  } catch (err) {
    throw new CliError(`error reading ${what}: ${(err as Error).message}`);
  }
}

/** `talosctl config add NAME`: adds (or replaces) a context from CA, certificate and key files. */
export const registerConfigAdd: CommandRegistrar = (parent: Command, _io: CliIo) => {
  configGroup(parent)
    .command('add')
    .argument('<context>')
    .description('Add a new context')
    .option('--ca <path>', 'the path to the CA certificate')
    .option('--crt <path>', 'the path to the certificate')
    .option('--key <path>', 'the path to the key')
    .action(async (name: string, opts: { ca?: string; crt?: string; key?: string }, cmd: Command) => {
      const { path, config } = await openConfig(cmd);
      if (!!opts.crt !== !!opts.key) {
        throw new CliError("if either the 'crt' or 'key' flag is specified, both are required");
      }
      const ctx: TalosconfigContext = {
        endpoints: [],
        ...(opts.ca ? { ca: await readBase64(opts.ca, 'CA') } : {}),
        ...(opts.crt ? { crt: await readBase64(opts.crt, 'certificate') } : {}),
        ...(opts.key ? { key: await readBase64(opts.key, 'key') } : {}),
      };
      await writeConfig(path, withContext(config, name, ctx));
    });
};
