import { Code, TalosError } from '@talos-ts/cosi';
import { formatIssue, loadConfig, validateConfig, type MachineConfig } from '@talos-ts/machinery';

/** A config that loaded and passed validation for this platform, with its warnings. */
export interface CheckedConfig {
  readonly yaml: string;
  readonly config: MachineConfig;
  readonly warnings: readonly string[];
}

/**
 * Loads and validates a config for the container platform. Any problem is one InvalidArgument
 * error listing every issue, so nothing is applied from a bad config.
 */
export function checkConfig(yaml: string, filename = 'config'): CheckedConfig {
  const loaded = loadConfig(yaml, { filename });
  if (loaded.error) throw new TalosError(Code.InvalidArgument, `configuration is invalid: ${loaded.error.message}`);
  const result = validateConfig(loaded.value, { mode: 'container' });
  if (result.errors.length > 0) {
    throw new TalosError(Code.InvalidArgument, `configuration is invalid:\n${result.errors.map((e) => formatIssue(filename, e)).join('\n')}`);
  }
  return { yaml, config: loaded.value, warnings: result.warnings.map((w) => formatIssue(filename, w)) };
}

// Fields whose change only takes effect through a reboot: identity, role, trust roots, install.
const rebootFields: readonly ((c: MachineConfig) => unknown)[] = [
  (c) => c.config.machine?.type,
  (c) => c.config.machine?.install,
  (c) => c.config.machine?.ca,
  (c) => c.config.machine?.token,
  (c) => c.config.cluster?.id,
  (c) => c.config.cluster?.secret,
  (c) => c.config.cluster?.ca,
];

/** True when going from `from` to `to` cannot be applied to the running machine. */
export function needsReboot(from: MachineConfig | undefined, to: MachineConfig): boolean {
  if (!from) return true;
  return rebootFields.some((f) => JSON.stringify(f(from) ?? null) !== JSON.stringify(f(to) ?? null));
}

// The dry-run diff: linear in memory whatever the size of the configs (see line-diff.ts).
export { lineDiff } from './line-diff.ts';
