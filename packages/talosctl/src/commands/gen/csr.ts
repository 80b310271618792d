import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { createCsr, privateKeyFromPem } from '@talos-ts/machinery';
import { CliError, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { ensureWritable, forceFlag, genGroup, writeSecretFile } from './gen.ts';
import { listFlag } from '../../cli.ts';

/** Roles apid understands (upstream's role set). */
const knownRoles = ['os:admin', 'os:operator', 'os:reader', 'os:etcd:backup', 'os:impersonator'];

/** `talosctl gen csr`: a CSR for an existing key, roles as Organization, the IP as SAN; written beside the key as .csr. */
export const registerGenCsr: CommandRegistrar = (parent: Command, _io: CliIo) => {
  genGroup(parent)
    .command('csr')
    .description('Generates a CSR using an Ed25519 private key')
    .requiredOption('--key <path>', 'path to the PEM encoded EC or RSA PRIVATE KEY')
    .requiredOption('--ip <ip>', 'generate the certificate for this IP address')
    .option('--roles <roles>', 'roles', listFlag, [])
    .option(...forceFlag)
    .action(async (opts: { key: string; ip: string; roles: string[]; force?: boolean }) => {
      let keyText: string;
      try {
        keyText = await readFile(opts.key, 'utf8');
      } catch (err) {
        throw new CliError(`error reading key: ${(err as Error).message}`);
      }
      let key;
      try {
        key = privateKeyFromPem(keyText);
      } catch (err) {
        throw new CliError(`error parsing key: ${(err as Error).message}`);
      }
      if (isIP(opts.ip) === 0) throw new CliError(`invalid IP: ${opts.ip}`);
      const roles = opts.roles.length > 0 ? opts.roles : ['os:admin'];
      const unknown = roles.filter((r) => !knownRoles.includes(r));
      if (unknown.length > 0) throw new CliError(`unknown roles: ${unknown.join(', ')}`);
      const out = opts.key.slice(0, opts.key.length - extname(opts.key).length) + '.csr';
      ensureWritable([out], opts.force);
      await writeSecretFile(out, createCsr(key, { subject: { organizations: roles }, ipAddresses: [opts.ip] }));
    });
};
