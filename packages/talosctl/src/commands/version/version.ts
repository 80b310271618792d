import type { Command } from 'commander';
import { currentVersion, type VersionInfo } from '@talos-ts/machinery';
import type { CliIo, CommandRegistrar } from '../../cli.ts';

/** Formats a version block the way upstream's `talosctl version` lays it out. */
export function formatVersion(title: string, v: VersionInfo): string {
  return [
    `${title}:`,
    `\tTag:         ${v.tag}`,
    `\tSHA:         ${v.sha}`,
    `\tBuilt:       ${v.built}`,
    `\tRuntime:     ${v.runtime}`,
    `\tOS/Arch:     ${v.os}/${v.arch}`,
    '',
  ].join('\n');
}

/** `talosctl version`: client version now; the server half arrives with the machine API. */
export const registerVersion: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('version')
    .description('Prints the version')
    .option('--client', 'print client version only')
    .option('--short', 'print the short version')
    .action((opts: { client?: boolean; short?: boolean }) => {
      const v = currentVersion();
      io.out(opts.short ? `Client ${v.tag}\n` : formatVersion('Client', v));
    });
};
