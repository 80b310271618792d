import type { Command } from 'commander';
import { currentVersion, type VersionInfo } from '@talos-ts/machinery';
import { NodeErrors, withApiClient } from '../../api.ts';
import type { CliIo, CommandRegistrar } from '../../cli.ts';

/** Formats a version block the way upstream's `talosctl version` lays it out. */
export function formatVersion(title: string, v: VersionInfo): string {
  return [`${title}:`, versionLines(v), ''].join('\n');
}

function versionLines(v: VersionInfo): string {
  return [
    `\tTag:         ${v.tag}`,
    `\tSHA:         ${v.sha}`,
    `\tBuilt:       ${v.built}`,
    `\tRuntime:     ${v.runtime}`,
    `\tOS/Arch:     ${v.os}/${v.arch}`,
  ].join('\n');
}

/** `talosctl version`: the client's version, then a `Server:` block per node (unless --client). */
export const registerVersion: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('version')
    .description('Prints the version')
    .option('--client', 'print client version only')
    .option('--short', 'print the short version')
    .option('-i, --insecure', 'use Talos maintenance mode API')
    .action(async (opts: { client?: boolean; short?: boolean; insecure?: boolean }, cmd: Command) => {
      const v = currentVersion();
      io.out(opts.short ? `Client:\n\tTalos ${v.tag}\n` : formatVersion('Client', v));
      if (opts.client) return;
      io.out('Server:\n');
      await withApiClient(
        cmd,
        async (s) => {
          const res = await s.client.machine.version({}, { signal: s.signal });
          const errors = new NodeErrors();
          for (const m of res.messages) {
            if (errors.check(m.metadata, s.nodeName)) continue;
            const info = m.version;
            io.out(`\tNODE:        ${s.nodeName(m.metadata?.hostname)}\n`);
            io.out(
              `${versionLines({
                tag: info?.tag ?? '',
                sha: info?.sha ?? '',
                built: info?.built ?? '',
                runtime: info?.goVersion ?? '',
                os: info?.os ?? '',
                arch: info?.arch ?? '',
              })}\n`,
            );
            io.out(`\tEnabled:     ${m.features?.rbac ? 'RBAC' : ''}\n`);
          }
          errors.throwIfAny();
        },
        { insecure: opts.insecure === true },
      );
    });
};
