// Faults: kill -9 of machined at random points of its write paths, corrupt and torn state files
// before a start, and a second machined on the same state directory. The oracle is the node as
// it comes back: the old or the new config (never a torn file), never maintenance mode while a
// config is stored, no crash loop.
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { machinePb } from '@talos-ts/machinery';
import { startSecondMachined, type FuzzNode } from '../host/fuzz-node.ts';
import type { Budget } from './config-campaign.ts';
import type { ConfigMutator } from './config-mutations.ts';
import type { FuzzReport } from './report.ts';
import type { Rng } from './rng.ts';

/** The fault kinds. */
export const FAULTS = [
  'kill-during-apply',
  'kill-during-staged',
  'kill-during-reset',
  'config-empty',
  'config-garbage',
  'config-truncated',
  'staged-torn',
  'staged-garbage',
  'secrets-dir-is-file',
  'second-machined',
] as const;

/** One fault kind. */
export type Fault = (typeof FAULTS)[number];

/** How long a second machined on the same state directory may take to refuse it and exit. */
const SECOND_INSTANCE_BOUND_MS = 45_000;

/** How a node came back after a fault. */
type Comeback = 'configured' | 'maintenance' | 'down';

async function comeback(node: FuzzNode, timeoutMs: number): Promise<Comeback> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end) {
    if (!node.alive()) return 'down';
    try {
      await node.probe(1500);
      return 'configured';
    } catch {
      // not (yet) serving mTLS
    }
    if (await node.inMaintenance(1500)) return 'maintenance';
    await new Promise((r) => setTimeout(r, 300));
  }
  return 'down';
}

function read(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** Options of {@link runFaults}. */
export interface FaultOptions extends Budget {
  /** Bound for the node to come back after a restart (default 45 s). */
  readonly comebackMs?: number;
  /** Which faults to cycle through (default all). */
  readonly faults?: readonly Fault[];
  /** Loopback address for the second machined (default: the node's with the last octet + 1). */
  readonly secondAddress?: string;
}

/**
 * Runs faults against a configured node, one after another, restoring its base config between
 * them. Each fault ends with the node restarted from its state directory and judged.
 */
export async function runFaults(node: FuzzNode, mutator: ConfigMutator, rng: Rng, report: FuzzReport, options: FaultOptions): Promise<number> {
  const Mode = machinePb.ApplyConfigurationRequest_Mode;
  const end = performance.now() + options.timeBudgetMs;
  const faults = options.faults ?? FAULTS;
  const bound = options.comebackMs ?? 45_000;
  const configPath = join(node.stateDir, 'config.yaml');
  const stagedPath = join(node.stateDir, 'config.staged.yaml');
  const base = Buffer.from(node.baseConfig);
  const restore = async (): Promise<void> => {
    node.kill9();
    rmSync(stagedPath, { force: true });
    const apiDir = join(node.stateDir, 'system', 'secrets', 'api');
    if (statSync(apiDir, { throwIfNoEntry: false })?.isFile()) rmSync(apiDir, { force: true });
    writeFileSync(configPath, base, { mode: 0o600 });
    await node.restart();
    if ((await comeback(node, bound)) !== 'configured') throw new Error(`node did not come back with its base config after a fault; see ${node.stateDir}.log`);
  };
  let n = 0;
  for (; n < options.count && performance.now() < end; n++) {
    const child = rng.fork();
    const fault = faults[n % faults.length] as Fault;
    const category = `fault/${fault}`;
    report.count(category);
    const before = read(configPath);
    let candidates: Buffer[] = before ? [before] : [];
    switch (fault) {
      case 'kill-during-apply':
      case 'kill-during-staged': {
        const next = mutator.mutate('valid-edit', child).bytes;
        candidates = [...candidates, next];
        const call = node.admin.machine
          .applyConfiguration({ data: next, mode: fault === 'kill-during-apply' ? Mode.NO_REBOOT : Mode.STAGED }, { timeoutMs: 5000 })
          .catch(() => undefined);
        // A random point: before the request lands, while it writes, or after it answered.
        await new Promise((r) => setTimeout(r, child.int(40)));
        node.kill9();
        await call;
        break;
      }
      case 'kill-during-reset': {
        // A reset wipes the config: coming back in maintenance mode is right only if it is gone.
        const call = node.admin.machine.reset({ graceful: false, reboot: true }, { timeoutMs: 5000 }).catch(() => undefined);
        await new Promise((r) => setTimeout(r, child.int(60)));
        node.kill9();
        await call;
        break;
      }
      case 'config-empty':
      case 'config-garbage':
      case 'config-truncated': {
        node.kill9();
        const bytes = fault === 'config-empty' ? Buffer.alloc(0) : fault === 'config-garbage' ? child.bytes(child.range(1, 4096)) : base.subarray(0, child.int(base.length));
        writeFileSync(configPath, bytes);
        candidates = [];
        break;
      }
      case 'staged-torn':
      case 'staged-garbage': {
        node.kill9();
        writeFileSync(stagedPath, fault === 'staged-torn' ? base.subarray(0, child.int(base.length)) : child.bytes(child.range(1, 2048)));
        break;
      }
      case 'secrets-dir-is-file': {
        node.kill9();
        const apiDir = join(node.stateDir, 'system', 'secrets', 'api');
        rmSync(apiDir, { recursive: true, force: true });
        writeFileSync(apiDir, 'not a directory');
        break;
      }
      case 'second-machined': {
        const second = options.secondAddress ?? node.address.replace(/\.(\d+)$/, (_, d: string) => `.${(Number(d) + 1) % 255}`);
        // A refusing instance exits as soon as it reaches the lock, so the bound only costs time on a
        // defect; it is wide because starting machined from source took over 8 s under a loaded CI.
        const r = await startSecondMachined(node.stateDir, second, SECOND_INSTANCE_BOUND_MS);
        if (!r.exited) report.fail('second-instance', category, `a second machined ran for ${SECOND_INSTANCE_BOUND_MS / 1000} s on ${node.stateDir} beside the first`, child.seed);
        else if (r.code === 0) report.fail('second-instance', category, 'a second machined exited 0 instead of refusing the state directory', child.seed);
        try {
          await node.probe(5000);
        } catch (err) {
          report.fail('unavailable', category, `the first machined stopped answering: ${err instanceof Error ? err.message : String(err)}`, child.seed);
        }
        // The second instance may have rewritten files (certificates, config) under the first.
        await restore();
        continue;
      }
    }
    const logBefore = node.log().length;
    await node.restart({ waitForApi: false });
    // A crash loop never comes back, and a node that rightly refuses a corrupt config opens no
    // port at all; maintenance mode, the failure looked for, opens within seconds. Short bounds
    // keep those cases from eating the run.
    const short = fault === 'secrets-dir-is-file' || fault.startsWith('config-');
    const state = await comeback(node, short ? Math.min(bound, 15_000) : bound);
    const after = read(configPath);
    if (after !== undefined && candidates.length > 0 && !candidates.some((c) => c.equals(after))) {
      report.fail('torn-state', category, `config.yaml (${after.length} bytes) is neither the old nor the new config`, child.seed);
    }
    if (state === 'maintenance' && after !== undefined) {
      report.fail('maintenance-with-config', category, `maintenance mode opened with a ${after.length}-byte config.yaml present`, child.seed);
    }
    if (state === 'down' && candidates.length > 0 && fault !== 'secrets-dir-is-file') {
      report.fail('unavailable', category, `node did not come back within ${bound} ms (${node.alive() ? 'running' : 'exited'})`, child.seed);
    }
    if (fault === 'secrets-dir-is-file') {
      const restarts = (node.log().slice(logBefore).match(/controller failed, restarting/g) ?? []).length;
      if (state !== 'configured' && restarts > 5) report.fail('crash-loop', category, `${restarts} controller restarts after system/secrets/api became a file`, child.seed);
      else if (state === 'down' && node.alive()) report.fail('unavailable', category, 'node neither serves nor exits after system/secrets/api became a file', child.seed);
    }
    // Only a node that did not come back configured (or whose secrets were broken) is reset.
    if (state !== 'configured' || fault === 'secrets-dir-is-file') await restore();
  }
  return n;
}
