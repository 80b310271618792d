import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { loadCertificateAuthority, signCsr, type CertificateAuthority } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { ensureWritable, forceFlag, genGroup, parseHours, writeSecretFile } from './gen.ts';

interface Flags {
  name: string;
  ca: string;
  csr: string;
  hours: string;
  force?: boolean;
}

async function read(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`error reading ${what}: ${(err as Error).message}`);
  }
}

/** `talosctl gen crt`: signs a CSR with the CA at --ca (basename of CA.crt/CA.key) into N.crt, ClientAuth. */
export const registerGenCrt: CommandRegistrar = (parent: Command, _io: CliIo) => {
  genGroup(parent)
    .command('crt')
    .description('Generates an X.509 Ed25519 certificate')
    .requiredOption('--name <name>', 'the basename of the generated file')
    .requiredOption('--ca <path>', 'path to the PEM encoded CERTIFICATE')
    .requiredOption('--csr <path>', 'path to the PEM encoded CERTIFICATE REQUEST')
    .option('--hours <hours>', 'the hours from now on which the certificate validity period ends', '24')
    .option(...forceFlag)
    .action(async (opts: Flags) => {
      const hours = parseHours(opts.hours);
      const caCrt = await read(`${opts.ca}.crt`, 'CA cert');
      const caKey = await read(`${opts.ca}.key`, 'key file');
      const csr = await read(opts.csr, 'CSR');
      let ca: CertificateAuthority;
      try {
        ca = loadCertificateAuthority(caCrt, caKey);
      } catch (err) {
        throw new CliError(`error loading CA: ${(err as Error).message}`);
      }
      const now = new Date(Math.floor(Date.now() / 1000) * 1000);
      let crt: string;
      try {
        crt = signCsr(ca, csr, {
          notBefore: now,
          notAfter: new Date(now.getTime() + hours * 3600_000),
          keyUsage: ['digitalSignature'],
          extKeyUsage: ['clientAuth'],
        });
      } catch (err) {
        throw new CliError(`error signing certificate: ${(err as Error).message}`);
      }
      const file = `${opts.name}.crt`;
      ensureWritable([file], opts.force);
      await writeSecretFile(file, crt);
    });
};
