import type { Command } from 'commander';
import { generateSecretsBundle, serializeSecretsBundle } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { ensureWritable, forceFlag, genGroup, writeSecretFile } from './gen.ts';

interface Flags {
  outputFile: string;
  talosVersion?: string;
  force?: boolean;
}

/** Upstream switched the service-account key from ECDSA to RSA after Talos 1.6. */
function serviceAccountKeyType(talosVersion: string | undefined): 'rsa' | 'ecdsa' {
  if (!talosVersion) return 'rsa';
  const m = /^v?(\d+)\.(\d+)/.exec(talosVersion);
  if (!m) throw new CliError(`invalid talos-version: ${JSON.stringify(talosVersion)}`);
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > 1 || (major === 1 && minor > 6) ? 'rsa' : 'ecdsa';
}

/** `talosctl gen secrets`: writes a new secrets bundle (secrets.yaml, or stdout with `-o -`). */
export const registerGenSecrets: CommandRegistrar = (parent: Command, io: CliIo) => {
  genGroup(parent)
    .command('secrets')
    .description('Generates a secrets bundle file which can later be used to generate a config')
    .option('-o, --output-file <path>', 'path of the output file, or "-" for stdout', 'secrets.yaml')
    .option('--talos-version <version>', 'the desired Talos version to generate secrets bundle for (backwards compatibility, e.g. v0.8)')
    .option(...forceFlag)
    .action(async (opts: Flags) => {
      const keyType = serviceAccountKeyType(opts.talosVersion);
      if (opts.outputFile !== '-') ensureWritable([opts.outputFile], opts.force);
      const bundle = await generateSecretsBundle({ serviceAccountKeyType: keyType });
      const text = serializeSecretsBundle(bundle);
      if (opts.outputFile === '-') io.out(text);
      else await writeSecretFile(opts.outputFile, text);
    });
};
