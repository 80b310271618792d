import { isIP } from 'node:net';
import type { Command } from 'commander';
import { createSelfSignedCa, generateKey } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { ensureWritable, forceFlag, genGroup, writeSecretFile } from './gen.ts';

/** Upstream's default certificate lifetime when no validity is given: 24 hours. */
const DEFAULT_VALIDITY_MS = 24 * 3600_000;

/** `talosctl gen keypair`: a self-signed Ed25519 certificate and key as O.crt and O.key. */
export const registerGenKeypair: CommandRegistrar = (parent: Command, _io: CliIo) => {
  genGroup(parent)
    .command('keypair')
    .description('Generates an X.509 Ed25519 key pair')
    .option('--ip <ip>', 'generate the certificate for this IP address')
    .requiredOption('--organization <name>', 'X.509 distinguished name for the Organization')
    .option(...forceFlag)
    .action(async (opts: { ip?: string; organization: string; force?: boolean }) => {
      if (opts.ip !== undefined && opts.ip !== '' && isIP(opts.ip) === 0) throw new CliError(`invalid IP: ${opts.ip}`);
      const files = [`${opts.organization}.crt`, `${opts.organization}.key`] as const;
      ensureWritable(files, opts.force);
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      const ca = createSelfSignedCa({
        key: await generateKey('ed25519'),
        subject: { organizations: [opts.organization] },
        notBefore: now,
        notAfter: new Date(now.getTime() + DEFAULT_VALIDITY_MS),
        ipAddresses: opts.ip ? [opts.ip] : [],
      });
      await writeSecretFile(files[0], ca.crtPem);
      await writeSecretFile(files[1], ca.keyPem);
    });
};
