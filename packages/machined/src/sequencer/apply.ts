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

/** A line diff of two YAML texts (what dry-run reports): `-` removed, `+` added lines. */
export function lineDiff(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  // Longest common subsequence table; configs are a few hundred lines, so O(n·m) is fine.
  const n = a.length;
  const m = b.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      i++;
      j++;
    } else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) {
      out.push(`-${a[i++]}`);
    } else {
      out.push(`+${b[j++]}`);
    }
  }
  while (i < n) out.push(`-${a[i++]}`);
  while (j < m) out.push(`+${b[j++]}`);
  return out.length === 0 ? 'No changes.' : out.join('\n');
}
