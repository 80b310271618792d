import type { Command } from 'commander';
import { certificateSpkiHash, createSelfSignedCa, generateKey } from '@talos-ts/machinery';
import type { CliIo, CommandRegistrar } from '../../cli.ts';
import { ensureWritable, forceFlag, genGroup, parseHours, writeSecretFile } from './gen.ts';

interface Flags {
  organization: string;
  hours: string;
  rsa?: boolean;
  force?: boolean;
}

/** `talosctl gen ca`: a self-signed CA written as O.crt, O.key and O.sha256 (the SPKI pin). */
export const registerGenCa: CommandRegistrar = (parent: Command, _io: CliIo) => {
  genGroup(parent)
    .command('ca')
    .description('Generates a self-signed X.509 certificate authority')
    .requiredOption('--organization <name>', 'X.509 distinguished name for the Organization')
    .option('--hours <hours>', 'the hours from now on which the certificate validity period ends', '87600')
    .option('--rsa', 'generate in RSA format')
    .option(...forceFlag)
    .action(async (opts: Flags) => {
      const hours = parseHours(opts.hours);
      const base = opts.organization;
      const files = [`${base}.crt`, `${base}.sha256`, `${base}.key`] as const;
      ensureWritable(files, opts.force);
      const key = await generateKey(opts.rsa ? 'rsa' : 'ed25519');
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      const ca = createSelfSignedCa({
        key,
        subject: { organizations: [opts.organization] },
        notBefore: now,
        notAfter: new Date(now.getTime() + hours * 3600_000),
      });
      await writeSecretFile(files[0], ca.crtPem);
      await writeSecretFile(files[1], certificateSpkiHash(ca.cert));
      await writeSecretFile(files[2], ca.keyPem);
    });
};
