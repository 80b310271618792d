// Config mutations through the real loader and validator in this process, and through
// apply-config on a real node (insecure in maintenance mode, mTLS as admin, dry-run or not).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Code, TalosError } from '@talos-ts/cosi';
import { createTalosClient, loadConfig, machinePb, validateConfig } from '@talos-ts/machinery';
import type { FuzzNode } from '../host/fuzz-node.ts';
import type { ConfigMutant, ConfigMutator } from './config-mutations.ts';
import type { FuzzReport } from './report.ts';
import type { Rng } from './rng.ts';

/** Bounds of a campaign: it stops at whichever comes first. */
export interface Budget {
  readonly count: number;
  readonly timeBudgetMs: number;
}

/** How long one synchronous load may block before it counts as a hang. */
export const IN_PROCESS_BOUND_MS = 5000;

// Messages that mean the loader met something it did not expect (a throw it caught last-ditch,
// a JS TypeError leaking through) rather than rejecting the input for a reason.
const internalMessage = /cannot load:|TypeError|is not a function|Cannot read prop|Cannot convert|Cannot set prop|undefined is not|Maximum call stack/;

/** Loads and validates one mutant in-process; records what the oracle says. */
export function checkConfigInProcess(m: ConfigMutant, report: FuzzReport, seed: number): 'accepted' | 'rejected' {
  const category = `config/${m.category}`;
  report.count(category);
  // machined reads the request bytes as UTF-8 text the same way (Buffer#toString).
  const text = m.bytes.toString('utf8');
  const t0 = performance.now();
  let accepted = false;
  let message = '';
  try {
    const r = loadConfig(text, { filename: 'fuzz.yaml' });
    if (r.error) message = r.error.message;
    else {
      const v = validateConfig(r.value, { mode: 'container' });
      if (v.errors.length === 0) {
        accepted = true;
        // An accepted config must survive its own serialization unchanged in meaning.
        const again = loadConfig(r.value.toYaml(), { filename: 'fuzz-roundtrip.yaml' });
        if (again.error) report.fail('stored-differs', category, `${m.note}: serialized form does not load: ${again.error.message}`, seed);
        else if (JSON.stringify(again.value.toObjects()) !== JSON.stringify(r.value.toObjects())) report.fail('stored-differs', category, `${m.note}: meaning changed by a round trip`, seed);
      } else message = v.errors.map((e) => `${e.path}: ${e.message}`).join('; ');
    }
  } catch (err) {
    report.fail('crash', category, `${m.note}: loader threw ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`, seed);
    return 'rejected';
  }
  const ms = performance.now() - t0;
  report.latency('config-in-process', ms);
  if (ms > IN_PROCESS_BOUND_MS) report.fail('hang', category, `${m.note}: load blocked for ${Math.round(ms)} ms`, seed);
  // The loader sees text, not bytes: invalid UTF-8 is judged over the wire, where bytes arrive.
  if (accepted && m.expect === 'invalid' && m.category !== 'invalid-utf8') report.fail('accepted-invalid', category, m.note, seed);
  if (!accepted && internalMessage.test(message)) report.fail('wrong-status', category, `${m.note}: ${message}`, seed);
  return accepted ? 'accepted' : 'rejected';
}

/** Runs mutants through the in-process loader until the budget is spent. */
export function fuzzConfigInProcess(mutator: ConfigMutator, rng: Rng, report: FuzzReport, budget: Budget): number {
  const end = performance.now() + budget.timeBudgetMs;
  let n = 0;
  for (; n < budget.count && performance.now() < end; n++) {
    const child = rng.fork();
    checkConfigInProcess(mutator.next(child), report, child.seed);
  }
  return n;
}

/** How one apply call ended. */
export type ApplyOutcome = { ok: true } | { ok: false; code: Code | undefined; message: string; timedOut: boolean };

/** One apply-config call, bounded. */
export async function applyOnce(
  client: FuzzNode['admin'],
  bytes: Buffer,
  options: { dryRun: boolean; mode: machinePb.ApplyConfigurationRequest_Mode; timeoutMs: number },
): Promise<ApplyOutcome> {
  try {
    await client.machine.applyConfiguration({ data: bytes, mode: options.mode, dryRun: options.dryRun }, { timeoutMs: options.timeoutMs });
    return { ok: true };
  } catch (err) {
    const code = err instanceof TalosError ? err.code : undefined;
    return { ok: false, code, message: err instanceof Error ? err.message : String(err), timedOut: code === Code.DeadlineExceeded };
  }
}

// Rejections that name a reason the client can act on.
const cleanRejections = new Set<Code | undefined>([Code.InvalidArgument, Code.FailedPrecondition, Code.ResourceExhausted]);

/** Options of {@link fuzzConfigOverWire}. */
export interface WireConfigOptions extends Budget {
  /** Apply insecurely to a node in maintenance mode (else mTLS as os:admin to a configured node). */
  readonly maintenance: boolean;
  /** Bound of one call (default 15 s). */
  readonly callTimeoutMs?: number;
  /** How many times a dead node may be restarted to go on (default 2). */
  readonly maxRestarts?: number;
}

/**
 * Sends mutants with apply-config. Oracle: every call returns within its bound, machined lives,
 * a known-invalid config is never accepted, a bad one is refused with a clean code, and an
 * accepted (not dry-run) config is on disk byte for byte as sent.
 */
export async function fuzzConfigOverWire(node: FuzzNode, mutator: ConfigMutator, rng: Rng, report: FuzzReport, options: WireConfigOptions): Promise<number> {
  const Mode = machinePb.ApplyConfigurationRequest_Mode;
  const end = performance.now() + options.timeBudgetMs;
  const timeoutMs = options.callTimeoutMs ?? 15_000;
  let restarts = options.maxRestarts ?? 2;
  const prefix = options.maintenance ? 'apply-insecure' : 'apply-mtls';
  const insecure = options.maintenance ? createTalosClient({ endpoints: [node.address], insecure: true, maxAttempts: 1 }) : undefined;
  let n = 0;
  try {
    for (; n < options.count && performance.now() < end; n++) {
      const child = rng.fork();
      const m = mutator.next(child);
      const category = `${prefix}/${m.category}`;
      report.count(category);
      // In maintenance mode only a config known to be bad is really applied (a good one would
      // end maintenance mode); the rest go as dry runs. Configured nodes get no-reboot applies.
      const dryRun = options.maintenance ? m.expect !== 'invalid' : m.expect === 'unknown' && child.chance(0.5);
      const t0 = performance.now();
      const out = await applyOnce(insecure ?? node.admin, m.bytes, { dryRun, mode: options.maintenance ? Mode.AUTO : Mode.NO_REBOOT, timeoutMs });
      report.latency(prefix, performance.now() - t0);
      if (!node.alive()) {
        const e = node.exit();
        report.fail('crash', category, `${m.note}: machined exited (code ${e?.code}, signal ${e?.signal}) during apply`, child.seed);
        if (restarts-- <= 0) break;
        await node.restart();
        continue;
      }
      if (out.ok) {
        if (m.expect === 'invalid') report.fail('accepted-invalid', category, `${m.note}${dryRun ? ' (dry run)' : ''}`, child.seed);
        if (!dryRun && !options.maintenance) {
          const stored = readFileSync(join(node.stateDir, 'config.yaml'));
          if (!stored.equals(m.bytes)) report.fail('stored-differs', category, `${m.note}: config.yaml (${stored.length} bytes) differs from the ${m.bytes.length} bytes sent`, child.seed);
        }
        if (options.maintenance && !dryRun) break; // the node left maintenance mode
        continue;
      }
      if (out.timedOut) report.fail('hang', category, `${m.note}: no answer within ${timeoutMs} ms`, child.seed);
      else if (!cleanRejections.has(out.code)) report.fail('wrong-status', category, `${m.note}: ${out.code === undefined ? 'no code' : Code[out.code]}: ${out.message}`, child.seed);
    }
  } finally {
    insecure?.close();
  }
  return n;
}
