// Cluster health checks, client side. Each check is one function over the API client, so it can be
// run (and tested) alone; `runHealthChecks` retries them in order until each passes or time is up,
// printing upstream-style progress lines ("waiting for etcd to be healthy: OK").

import { Code, TalosError } from '@talos-ts/cosi';
import type { TalosClient } from '@talos-ts/machinery';

/** The nodes a health run checks, by role. */
export interface HealthTarget {
  readonly controlPlanes: readonly string[];
  readonly workers: readonly string[];
}

/**
 * What one attempt of a check found: `ok`; `fail` (retried until the deadline); or
 * `unavailable` — the check cannot apply here (e.g. no Kubernetes components run), reported, not failed.
 */
export type CheckOutcome =
  | { readonly kind: 'ok' }
  /** `final`: retrying cannot help (the node does not implement the call), so the check stops at once. */
  | { readonly kind: 'fail'; readonly reason: string; readonly final?: boolean }
  | { readonly kind: 'unavailable'; readonly reason: string };

/** One named check. */
export interface HealthCheck {
  /** Completes "waiting for …". */
  readonly description: string;
  run(client: TalosClient, target: HealthTarget, signal: AbortSignal): Promise<CheckOutcome>;
}

const ok: CheckOutcome = { kind: 'ok' };
const fail = (reason: string): CheckOutcome => ({ kind: 'fail', reason });

function allNodes(t: HealthTarget): string[] {
  return [...t.controlPlanes, ...t.workers];
}

/** Per-node failures of a one-to-many reply, plus nodes that did not answer at all. */
function replyErrors(nodes: readonly string[], messages: readonly { metadata?: { hostname: string; error: string } | undefined }[]): string[] {
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const m of messages) {
    const host = m.metadata?.hostname ?? (nodes.length === 1 ? (nodes[0] ?? '') : '');
    seen.add(host);
    if (m.metadata?.error) errors.push(`${host}: ${m.metadata.error}`);
  }
  for (const n of nodes) if (!seen.has(n)) errors.push(`${n}: no reply`);
  return errors;
}

async function attempt(body: () => Promise<CheckOutcome>): Promise<CheckOutcome> {
  try {
    return await body();
  } catch (err) {
    const e = TalosError.from(err);
    return e.code === Code.Unimplemented ? { kind: 'fail', reason: e.message, final: true } : fail(e.message);
  }
}

/**
 * Calls each node one-to-one (so a node's failure keeps its gRPC code, which merged one-to-many
 * replies lose) and returns the replies by node; the first failure is thrown with its node named.
 */
async function perNode<T>(nodes: readonly string[], call: (node: string) => Promise<T>): Promise<Map<string, T>> {
  const out = new Map<string, T>();
  await Promise.all(
    nodes.map(async (n) => {
      try {
        out.set(n, await call(n));
      } catch (err) {
        const e = TalosError.from(err);
        throw new TalosError(e.code, `${n}: ${e.message}`, { cause: err });
      }
    }),
  );
  return out;
}

/** apid answers (Version) on every node, through the endpoint's proxying. */
export async function checkApid(client: TalosClient, target: HealthTarget, signal: AbortSignal): Promise<CheckOutcome> {
  const nodes = allNodes(target);
  return attempt(async () => {
    const res = await client.withNodes(nodes).machine.version({}, { signal });
    const errors = replyErrors(nodes, res.messages);
    return errors.length === 0 ? ok : fail(errors.join('; '));
  });
}

/** Services whose health is checked by machined: unknown health is not yet healthy for these. */
const HEALTH_CHECKED_SERVICES = new Set(['apid', 'trustd', 'etcd', 'kubelet', 'containerd', 'cri']);

/** Every service on every node is running (or finished, for one-shot services) and, where checked, healthy. */
export async function checkServices(client: TalosClient, target: HealthTarget, signal: AbortSignal): Promise<CheckOutcome> {
  const nodes = allNodes(target);
  return attempt(async () => {
    const res = await client.withNodes(nodes).machine.serviceList({}, { signal });
    const errors = replyErrors(nodes, res.messages);
    for (const m of res.messages) {
      if (m.metadata?.error) continue;
      const host = m.metadata?.hostname ?? '';
      for (const s of m.services) {
        if (s.state !== 'Running' && s.state !== 'Finished') errors.push(`${host}: service ${s.id} is ${s.state}`);
        else if (s.health && !s.health.unknown && !s.health.healthy) errors.push(`${host}: service ${s.id} is unhealthy: ${s.health.lastMessage}`);
        else if (s.health?.unknown && HEALTH_CHECKED_SERVICES.has(s.id)) errors.push(`${host}: service ${s.id} health is not known yet`);
      }
    }
    return errors.length === 0 ? ok : fail(errors.join('; '));
  });
}

/** etcd answers EtcdStatus on every control plane node without member errors. */
export async function checkEtcdHealthy(client: TalosClient, target: HealthTarget, signal: AbortSignal): Promise<CheckOutcome> {
  return attempt(async () => {
    const replies = await perNode(target.controlPlanes, (n) => client.withNode(n).machine.etcdStatus({}, { signal }));
    const errors: string[] = [];
    for (const [host, res] of replies) {
      const m = res.messages[0];
      if (m?.metadata?.error) errors.push(`${host}: ${m.metadata.error}`);
      else if (!m?.memberStatus) errors.push(`${host}: no member status`);
      else if (m.memberStatus.errors.length > 0) errors.push(`${host}: ${m.memberStatus.errors.join(', ')}`);
    }
    return errors.length === 0 ? ok : fail(errors.join('; '));
  });
}

async function memberLists(client: TalosClient, nodes: readonly string[], signal: AbortSignal): Promise<{ errors: string[]; lists: Map<string, { id: bigint; peerUrls: string[]; hostname: string; isLearner: boolean }[]> }> {
  const replies = await perNode(nodes, (n) => client.withNode(n).machine.etcdMemberList({}, { signal }));
  const errors: string[] = [];
  const lists = new Map<string, { id: bigint; peerUrls: string[]; hostname: string; isLearner: boolean }[]>();
  for (const [host, res] of replies) {
    const m = res.messages[0];
    if (m?.metadata?.error) errors.push(`${host}: ${m.metadata.error}`);
    else lists.set(host, (m?.members ?? []).map((x) => ({ id: x.id, peerUrls: [...x.peerUrls], hostname: x.hostname, isLearner: x.isLearner })));
  }
  return { errors, lists };
}

/** Every control plane node sees the same etcd member list. */
export async function checkEtcdMembersConsistent(client: TalosClient, target: HealthTarget, signal: AbortSignal): Promise<CheckOutcome> {
  return attempt(async () => {
    const { errors, lists } = await memberLists(client, target.controlPlanes, signal);
    if (errors.length > 0) return fail(errors.join('; '));
    const key = (l: { id: bigint }[]): string => l.map((x) => x.id.toString(16)).sort().join(',');
    const [first, ...rest] = [...lists.entries()];
    if (!first) return fail('no member lists');
    for (const [host, l] of rest) if (key(l) !== key(first[1])) return fail(`${host} sees members [${key(l)}], ${first[0]} sees [${key(first[1])}]`);
    return ok;
  });
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return '';
  }
}

/** The etcd members are exactly the control plane nodes (by peer URL address), none a learner. */
export async function checkEtcdMembersAreControlPlanes(client: TalosClient, target: HealthTarget, signal: AbortSignal): Promise<CheckOutcome> {
  const first = target.controlPlanes[0];
  if (first === undefined) return fail('no control plane nodes given');
  return attempt(async () => {
    const { errors, lists } = await memberLists(client, [first], signal);
    if (errors.length > 0) return fail(errors.join('; '));
    const members = [...lists.values()][0] ?? [];
    if (members.length !== target.controlPlanes.length) return fail(`expected ${target.controlPlanes.length} etcd member(s), found ${members.length}`);
    const learners = members.filter((m) => m.isLearner);
    if (learners.length > 0) return fail(`member(s) ${learners.map((m) => m.hostname || m.id.toString(16)).join(', ')} still learning`);
    const addresses = new Set(members.flatMap((m) => m.peerUrls.map(hostOf)));
    const missing = target.controlPlanes.filter((n) => !addresses.has(n));
    return missing.length === 0 ? ok : fail(`control plane node(s) ${missing.join(', ')} are not etcd members`);
  });
}

const NO_KUBERNETES = 'no kubelet runs on the nodes (Kubernetes components are not part of Talos-TS machines yet)';

/**
 * kubelet is running and healthy on every node. Nodes without a kubelet service make every
 * Kubernetes check unavailable rather than failing: the gap is reported, not hidden.
 */
export async function checkKubelet(client: TalosClient, target: HealthTarget, signal: AbortSignal): Promise<CheckOutcome> {
  const nodes = allNodes(target);
  return attempt(async () => {
    const res = await client.withNodes(nodes).machine.serviceList({}, { signal });
    const errors = replyErrors(nodes, res.messages);
    if (errors.length > 0) return fail(errors.join('; '));
    const kubelets = res.messages.map((m) => ({ host: m.metadata?.hostname ?? '', s: m.services.find((s) => s.id === 'kubelet') }));
    if (kubelets.every((k) => k.s === undefined)) return { kind: 'unavailable', reason: NO_KUBERNETES };
    for (const k of kubelets) {
      if (!k.s) errors.push(`${k.host}: no kubelet service`);
      else if (k.s.state !== 'Running' || !k.s.health?.healthy) errors.push(`${k.host}: kubelet is ${k.s.state}${k.s.health?.lastMessage ? ` (${k.s.health.lastMessage})` : ''}`);
    }
    return errors.length === 0 ? ok : fail(errors.join('; '));
  });
}

/** A Kubernetes API check talosctl cannot run: no Kubernetes client, and no API server to ask. */
function kubernetesApiCheck(description: string): HealthCheck {
  return {
    description,
    run: async (client, target, signal) => {
      const kubelet = await checkKubelet(client, target, signal);
      if (kubelet.kind === 'unavailable') return kubelet;
      return { kind: 'unavailable', reason: 'talosctl has no Kubernetes API client yet' };
    },
  };
}

/** The checks of `talosctl health`, in upstream's order where they overlap. */
export function defaultHealthChecks(): HealthCheck[] {
  return [
    { description: 'apid to be ready', run: checkApid },
    { description: 'all services to be healthy', run: checkServices },
    { description: 'etcd to be healthy', run: checkEtcdHealthy },
    { description: 'etcd members to be consistent across nodes', run: checkEtcdMembersConsistent },
    { description: 'etcd members to be control plane nodes', run: checkEtcdMembersAreControlPlanes },
    { description: 'kubelet to be healthy', run: checkKubelet },
    kubernetesApiCheck('all k8s nodes to report'),
    kubernetesApiCheck('all control plane static pods to be running'),
    kubernetesApiCheck('all k8s nodes to report ready'),
  ];
}

/** Options of {@link runHealthChecks}. */
export interface RunHealthOptions {
  readonly checks?: readonly HealthCheck[];
  /** Total time for all checks together. */
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly signal?: AbortSignal;
  /** Receives each progress line (without newline). */
  readonly onLine: (line: string) => void;
}

/** One check's final result. */
export interface CheckReport {
  readonly description: string;
  readonly outcome: CheckOutcome;
}

/**
 * Runs the checks in order, each retried until it passes, is unavailable, or the shared deadline
 * passes. A line is printed whenever a check's status changes. Checks reached after the deadline
 * still get one attempt, so the report covers every check, not just the first failure.
 */
export async function runHealthChecks(client: TalosClient, target: HealthTarget, options: RunHealthOptions): Promise<{ healthy: boolean; reports: CheckReport[] }> {
  const deadline = Date.now() + options.timeoutMs;
  const reports: CheckReport[] = [];
  for (const check of options.checks ?? defaultHealthChecks()) {
    let last = '';
    let outcome: CheckOutcome;
    for (;;) {
      if (options.signal?.aborted) throw new TalosError(Code.Canceled, 'health check cancelled');
      const perAttempt = AbortSignal.any([AbortSignal.timeout(Math.max(1000, Math.min(15_000, deadline - Date.now()))), ...(options.signal ? [options.signal] : [])]);
      outcome = await check.run(client, target, perAttempt);
      const text = outcome.kind === 'ok' ? 'OK' : outcome.kind === 'unavailable' ? `not available: ${outcome.reason}` : outcome.reason;
      if (text !== last) options.onLine(`waiting for ${check.description}: ${text}`);
      last = text;
      if (outcome.kind !== 'fail' || outcome.final || Date.now() >= deadline) break;
      await new Promise((r) => setTimeout(r, options.intervalMs ?? 1000));
    }
    reports.push({ description: check.description, outcome });
  }
  return { healthy: reports.every((r) => r.outcome.kind !== 'fail'), reports };
}
