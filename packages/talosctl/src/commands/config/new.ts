import { stat } from 'node:fs/promises';
import type { Command } from 'commander';
import { TALOS_API_PORT, isRole, parseTalosconfig, saveTalosconfig } from '@talos-ts/machinery';
import { withApiClient } from '../../api.ts';
import { CliError, listFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { parseDurationSeconds } from '../events/events.ts';
import { configGroup } from './config.ts';

/** Upstream's default lifetime of a Talos API client certificate (one year). */
const DEFAULT_CRT_TTL = '8760h';

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `talosctl config new [path]`: asks one node (GenerateClientConfiguration, os:admin only) for a
 * client certificate with the given roles signed by the OS CA, and writes a talosconfig using it.
 */
export const registerConfigNew: CommandRegistrar = (parent: Command, _io: CliIo) => {
  configGroup(parent)
    .command('new')
    .argument('[path]', 'where to write the new talosconfig', 'talosconfig')
    .description('Generate a new client configuration file')
    .option('--roles <roles>', 'roles', listFlag, [])
    .option('--crt-ttl <duration>', 'certificate TTL', DEFAULT_CRT_TTL)
    .action(async (path: string, opts: { roles: string[]; crtTtl: string }, cmd: Command) => {
      const roles = opts.roles.length > 0 ? opts.roles : ['os:admin'];
      const unknown = roles.filter((r) => !isRole(r));
      if (unknown.length > 0) throw new CliError(`unknown roles: ${unknown.join(', ')}`);
      const ttlSeconds = parseDurationSeconds(opts.crtTtl);
      if (ttlSeconds <= 0) throw new CliError(`invalid argument "${opts.crtTtl}" for "--crt-ttl" flag: must be positive`);
      await withApiClient(cmd, async (s) => {
        if (s.nodes.length !== 1) throw new CliError(`command "config new" requires exactly one node (got ${s.nodes.length})`);
        if (await exists(path)) throw new CliError(`talosconfig file already exists: ${JSON.stringify(path)}`);
        const res = await s.client.machine.generateClientConfiguration({ roles, crtTtl: { seconds: BigInt(ttlSeconds), nanos: 0 } }, { signal: s.signal });
        const reply = res.messages[0];
        if (res.messages.length !== 1 || !reply) throw new CliError(`expected 1 reply, got ${res.messages.length}`);
        if (reply.metadata?.error) throw new CliError(reply.metadata.error);
        const parsed = parseTalosconfig(Buffer.from(reply.talosconfig).toString('utf8'));
        if ('error' in parsed) throw new CliError(`the node sent an invalid talosconfig: ${parsed.error.path}: ${parsed.error.message}`);
        const config = parsed.value;
        const ctx = config.contexts[config.context];
        if (!ctx) throw new CliError(`the node sent a talosconfig without its context ${JSON.stringify(config.context)}`);
        // As upstream: the endpoints this command used, so the new file works at once.
        const defaultPort = `:${TALOS_API_PORT}`;
        const endpoints = s.client.endpoints.map((e) => (e.endsWith(defaultPort) ? e.slice(0, -defaultPort.length) : e));
        await saveTalosconfig(path, { ...config, contexts: { ...config.contexts, [config.context]: { ...ctx, endpoints } } });
      });
    });
};
