import type { Command } from 'commander';
import { machinePb } from '@talos-ts/machinery';
import { CliError, type CliIo } from './cli.ts';

const modes: Record<string, machinePb.ApplyConfigurationRequest_Mode> = {
  auto: machinePb.ApplyConfigurationRequest_Mode.AUTO,
  'no-reboot': machinePb.ApplyConfigurationRequest_Mode.NO_REBOOT,
  reboot: machinePb.ApplyConfigurationRequest_Mode.REBOOT,
  staged: machinePb.ApplyConfigurationRequest_Mode.STAGED,
  try: machinePb.ApplyConfigurationRequest_Mode.TRY,
};

/** Adds upstream's `--mode/-m`, `--dry-run` and `--timeout` flags of apply-config, edit and patch. */
export function addModeFlags(cmd: Command): Command {
  return cmd
    .option('-m, --mode <mode>', `apply config mode (${Object.keys(modes).sort().join(', ')})`, 'auto')
    .option('--dry-run', 'check how the config change will be applied in dry-run mode')
    .option('--timeout <duration>', 'the config will be rolled back after specified timeout (if try mode is selected)', '1m');
}

/** The request fields the mode flags select. */
export function modeRequest(flags: { mode: string; dryRun?: boolean; timeout: string }, parseSeconds: (t: string) => number) {
  const mode = modes[flags.mode];
  if (mode === undefined) throw new CliError(`invalid argument "${flags.mode}" for "-m, --mode" flag: possible options are: ${Object.keys(modes).sort().join(', ')}`);
  return {
    mode,
    dryRun: flags.dryRun === true,
    ...(mode === machinePb.ApplyConfigurationRequest_Mode.TRY ? { tryModeTimeout: { seconds: BigInt(parseSeconds(flags.timeout)), nanos: 0 } } : {}),
  };
}

/** Prints each node's warnings (stderr) and mode details (stdout), as upstream's PrintApplyResults. */
export function printApplyResults(res: machinePb.ApplyConfigurationResponse, io: CliIo): void {
  for (const m of res.messages) {
    for (const w of m.warnings) io.err(`WARNING: ${w}\n`);
    if (m.modeDetails !== '') io.out(`${m.modeDetails}\n`);
  }
}
