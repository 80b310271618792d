import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { applyPatches, loadConfig } from '@talos-ts/machinery';
import { withApiClient } from '../../api.ts';
import { CliError, arrayFlag, listFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { addModeFlags, modeRequest, printApplyResults } from '../../mode.ts';
import { resolvePatches } from '../../patches.ts';
import { parseDurationSeconds } from '../events/events.ts';

interface ApplyFlags {
  file?: string;
  insecure?: boolean;
  mode: string;
  dryRun?: boolean;
  timeout: string;
  configPatch: string[];
  certFingerprint: string[];
}

/** `talosctl apply-config -f FILE`: sends a machine config to the nodes (or a maintenance-mode node with --insecure). */
export const registerApplyConfig: CommandRegistrar = (parent: Command, io: CliIo) => {
  addModeFlags(
    parent
      .command('apply-config')
      .alias('apply')
      .description('Apply a new configuration to a node')
      .option('-f, --file <file>', 'the filename of the updated configuration')
      .option('-i, --insecure', 'apply the config using the insecure (encrypted with no auth) maintenance service')
      .option('-p, --config-patch <patch>', 'the list of config patches to apply to the local config file before sending it to the node', arrayFlag, [])
      .option('--cert-fingerprint <fp>', 'list of server certificate fingeprints to accept (defaults to no check)', listFlag, []),
  ).action(async (flags: ApplyFlags, cmd: Command) => {
    if (!flags.file) throw new CliError('no filename supplied for configuration');
    if (flags.certFingerprint.length > 0) throw new CliError('--cert-fingerprint is not supported yet');
    // The file's bytes go out as they are; the node decodes them strictly and names any bad byte.
    let data: Uint8Array;
    try {
      data = await readFile(flags.file);
    } catch (err) {
      throw new CliError(`failed to read configuration from "${flags.file}": ${(err as Error).message}`);
    }
    if (data.length === 0) throw new CliError('no configuration data read');
    if (flags.configPatch.length > 0) {
      const loaded = loadConfig(data, { filename: flags.file });
      if (loaded.error) throw new CliError(loaded.error.message);
      const patched = applyPatches(loaded.value, await resolvePatches(flags.configPatch));
      if (patched.error) throw new CliError(patched.error.message);
      data = Buffer.from(patched.value.toYaml());
    }
    const mode = modeRequest(flags, parseDurationSeconds);
    await withApiClient(
      cmd,
      async (s) => {
        const res = await s.client.machine.applyConfiguration({ data, ...mode }, { signal: s.signal });
        printApplyResults(res, io);
        const failed = res.messages.filter((m) => m.metadata?.error);
        if (failed.length > 0) {
          throw new CliError(failed.map((m) => `${s.nodeName(m.metadata?.hostname)}: ${m.metadata?.error ?? ''}`).join('\nerror: '));
        }
      },
      { insecure: flags.insecure === true },
    );
  });
};
