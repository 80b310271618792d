import type { Command } from 'commander';
import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { createTalosClient, talosClientOptionsFromContext, type TalosClient } from '@talos-ts/machinery';
import { defaultStateRoot, loadClusterState } from '@talos-ts/provision';
import { CliError, listFlag, type CliIo, type CommandRegistrar } from '../../cli.ts';
import { openConfig, selectedContext } from '../config/config.ts';
import { parseDurationSeconds } from '../events/events.ts';
import { runHealthChecks, type CheckReport, type HealthTarget } from './checks.ts';

interface HealthFlags {
  controlPlaneNodes: string[];
  workerNodes: string[];
  initNode?: string;
  waitTimeout: string;
  state: string;
  cluster?: string;
}

/**
 * The nodes to check: the flags when given; else the local cluster named like the context
 * (its state records each node's role); else the flags are required.
 */
export async function healthTarget(flags: { controlPlaneNodes: readonly string[]; workerNodes: readonly string[]; stateRoot: string; clusterName: string }): Promise<HealthTarget> {
  if (flags.controlPlaneNodes.length > 0) return { controlPlanes: [...flags.controlPlaneNodes], workers: [...flags.workerNodes] };
  if (flags.workerNodes.length > 0) throw new CliError('--worker-nodes needs --control-plane-nodes too');
  try {
    const state = await loadClusterState(flags.stateRoot, flags.clusterName);
    return { controlPlanes: state.nodes.filter((n) => n.role === 'controlplane').map((n) => n.ip), workers: state.nodes.filter((n) => n.role === 'worker').map((n) => n.ip) };
  } catch (err) {
    if (hasCode(err, Code.NotFound)) {
      throw new CliError(`no local cluster named "${flags.clusterName}": give the nodes with --control-plane-nodes and --worker-nodes`);
    }
    throw new CliError(TalosError.from(err).message);
  }
}

/**
 * The closing lines of a health run: which checks passed, which were skipped and why, which
 * failed, and one verdict that never calls Kubernetes healthy when it was not checked.
 */
export function healthSummary(reports: readonly CheckReport[]): { lines: string[]; healthy: boolean; verdict: string } {
  const passed = reports.filter((r) => r.outcome.kind === 'ok').map((r) => r.description);
  // Skipped checks share their reason (no kubelet → every Kubernetes check): say each reason once.
  const byReason = new Map<string, string[]>();
  for (const r of reports) if (r.outcome.kind === 'unavailable') byReason.set(r.outcome.reason, [...(byReason.get(r.outcome.reason) ?? []), r.description]);
  const skipped = [...byReason].map(([reason, checks]) => `${checks.join(', ')}: ${reason}`);
  const skippedCount = [...byReason.values()].reduce((n, c) => n + c.length, 0);
  const failed = reports.flatMap((r) => (r.outcome.kind === 'fail' ? [`${r.description} (${r.outcome.reason})`] : []));
  const lines = [`checks passed (${passed.length}): ${passed.join(', ') || 'none'}`];
  if (skipped.length > 0) lines.push(`checks skipped (${skippedCount}): ${skipped.join('; ')}`);
  if (failed.length > 0) lines.push(`checks failed (${failed.length}): ${failed.join('; ')}`);
  const healthy = failed.length === 0;
  const kubernetesChecked = reports.some((r) => /kubelet|k8s|kubernetes/i.test(r.description) && r.outcome.kind === 'ok');
  const verdict = !healthy
    ? 'cluster is not healthy'
    : kubernetesChecked
      ? 'cluster is healthy'
      : skipped.length > 0
        ? 'Talos is healthy (apid, services, etcd); Kubernetes was not checked'
        : 'cluster is healthy';
  return { lines, healthy, verdict };
}

/**
 * Runs the checks with progress lines, then prints what ran, what was skipped and the verdict;
 * throws CliError when unhealthy. Returns the verdict line.
 */
export async function checkClusterHealth(client: TalosClient, target: HealthTarget, options: { timeoutMs: number; io: CliIo; signal?: AbortSignal }): Promise<string> {
  const res = await runHealthChecks(client, target, {
    timeoutMs: options.timeoutMs,
    onLine: (l) => options.io.out(`${l}\n`),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const summary = healthSummary(res.reports);
  for (const l of summary.lines) options.io.out(`${l}\n`);
  if (!res.healthy) {
    const failed = res.reports.filter((r) => r.outcome.kind === 'fail');
    const final = failed.every((r) => r.outcome.kind === 'fail' && r.outcome.final === true);
    // A check the nodes cannot answer (not implemented) fails at once: do not claim we waited.
    const when = final ? '' : ` after ${Math.round(options.timeoutMs / 1000)}s`;
    throw new CliError(`cluster is not healthy${when}: still waiting for ${failed.map((r) => r.description).join(', ')}`);
  }
  return summary.verdict;
}

/** `talosctl health`: client-side cluster health checks with live progress. */
export const registerHealth: CommandRegistrar = (parent: Command, io: CliIo) => {
  parent
    .command('health')
    .description('Check cluster health')
    .option('--control-plane-nodes <ips>', 'specify IPs of control plane nodes', listFlag, [])
    .option('--worker-nodes <ips>', 'specify IPs of worker nodes', listFlag, [])
    .option('--init-node <ip>', 'specify IPs of init node (accepted for compatibility; not needed)')
    .option('--wait-timeout <duration>', 'timeout to wait for the cluster to be ready', '20m')
    .option('--state <dir>', 'directory path to store cluster state (to find a local cluster\'s nodes)', defaultStateRoot())
    .option('--cluster <name>', 'local cluster whose nodes to check (default: the context name)')
    .action(async (flags: HealthFlags, cmd: Command) => {
      const timeoutMs = parseDurationSeconds(flags.waitTimeout) * 1000;
      const { config } = await openConfig(cmd);
      const { name, context } = selectedContext(cmd, config);
      const target = await healthTarget({ controlPlaneNodes: flags.controlPlaneNodes, workerNodes: flags.workerNodes, stateRoot: flags.state, clusterName: flags.cluster ?? name });
      const g = cmd.optsWithGlobals<{ endpoints?: string[] }>();
      let client: TalosClient;
      try {
        client = createTalosClient(talosClientOptionsFromContext(context, { endpoints: g.endpoints ?? [] }));
      } catch (err) {
        throw new CliError(`error getting client credentials: ${TalosError.from(err).message}`);
      }
      if (client.endpoints.length === 0) throw new CliError('no endpoints are set: please use `--endpoints` flag or `talosctl config endpoint` to set them');
      const ac = new AbortController();
      const onSigint = (): void => ac.abort();
      process.once('SIGINT', onSigint);
      try {
        io.out(`discovered nodes: control plane: ${target.controlPlanes.join(', ')}; worker: ${target.workers.join(', ') || '(none)'}\n`);
        io.out(`${await checkClusterHealth(client, target, { timeoutMs, io, signal: ac.signal })}\n`);
      } finally {
        process.off('SIGINT', onSigint);
        client.close();
      }
    });
};
