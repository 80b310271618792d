import { Code, TalosError } from '@talos-ts/cosi';
import { machinePb } from '@talos-ts/machinery';
import { machineConfigOf } from '../controllers/config/parse.ts';
import type { ApplyResult } from '../server/machine-service.ts';
import { checkConfig, lineDiff, needsReboot } from './apply.ts';
import type { MachineRuntime } from './runtime.ts';

const Mode = machinePb.ApplyConfigurationRequest_Mode;

/** An ApplyConfiguration call, decoded. */
export interface ApplyRequest {
  readonly yaml: string;
  readonly mode: machinePb.ApplyConfigurationRequest_Mode;
  readonly dryRun: boolean;
  readonly tryTimeoutMs: number;
}

/**
 * Applies a config per upstream's modes; throws InvalidArgument (nothing changed) for a bad one.
 * In maintenance mode the config is handed to the waiting node, which then boots. REBOOT writes
 * the config and asks for a reboot (after the call answered); TRY applies it live, unpersisted, and
 * reverts after its timeout unless another apply or a reboot comes first. Callers run applies one
 * at a time (the config store's exclusive section).
 */
export async function applyConfiguration(r: MachineRuntime, request: ApplyRequest, actions: { reboot(): void }): Promise<ApplyResult> {
  const cycle = r.current();
  const checked = checkConfig(request.yaml);
  const warnings = checked.warnings;
  if (cycle.acceptConfig) {
    if (request.dryRun) return { mode: request.mode, details: `Dry run summary:\nNode is in maintenance mode; the configuration would be applied and the node would boot.`, warnings };
    await cycle.acceptConfig(checked);
    return { mode: request.mode, details: 'Applied configuration, leaving maintenance mode', warnings };
  }
  const active = r.activeConfigResource(cycle);
  const current = active ? machineConfigOf(active) : undefined;
  const reboot = needsReboot(current, checked.config);
  let mode = request.mode;
  if (mode === Mode.AUTO) mode = reboot ? Mode.REBOOT : Mode.NO_REBOOT;
  if ((mode === Mode.NO_REBOOT || mode === Mode.TRY) && reboot) {
    throw new TalosError(Code.FailedPrecondition, 'this configuration change requires a reboot; use --mode=reboot, --mode=auto or --mode=staged');
  }
  const diff = lineDiff(active?.spec.yaml ?? '', checked.yaml);
  if (request.dryRun) {
    return { mode, details: `Dry run summary:\n${describe(mode, request.tryTimeoutMs)} (skipped in dry-run).\n\nConfig diff:\n\n${diff}`, warnings };
  }
  if (mode !== Mode.TRY) r.clearTry();
  switch (mode) {
    case Mode.STAGED:
      await r.store.stage(checked.yaml);
      break;
    case Mode.REBOOT:
      await r.store.write(checked.yaml);
      setImmediate(() => actions.reboot());
      break;
    case Mode.NO_REBOOT:
      await r.store.write(checked.yaml);
      r.setConfigResource(cycle, checked.yaml);
      break;
    case Mode.TRY: {
      // Not persisted: a reboot, or the timer, brings back the config on disk.
      const previous = r.tryConfig?.previous ?? active?.spec.yaml ?? '';
      r.clearTry();
      const timer = setTimeout(() => {
        r.tryConfig = undefined;
        if (r.cycle !== cycle) return;
        r.logger.info('try mode timeout: reverting to the previous configuration');
        r.setConfigResource(cycle, previous);
      }, request.tryTimeoutMs);
      timer.unref();
      r.tryConfig = { timer, previous };
      r.setConfigResource(cycle, checked.yaml);
      break;
    }
    default:
      throw new TalosError(Code.InvalidArgument, `unknown apply mode ${String(mode)}`);
  }
  r.logger.info('configuration applied', { mode: Mode[mode] });
  return { mode, details: describe(mode, request.tryTimeoutMs), warnings };
}

function describe(mode: machinePb.ApplyConfigurationRequest_Mode, tryTimeoutMs: number): string {
  switch (mode) {
    case Mode.REBOOT:
      return 'Applied configuration with a reboot';
    case Mode.STAGED:
      return 'Staged configuration to be applied after the next reboot';
    case Mode.TRY:
      return `The config is applied in 'try' mode and will be automatically reverted back in ${Math.round(tryTimeoutMs / 1000)}s`;
    default:
      return 'Applied configuration without a reboot';
  }
}
