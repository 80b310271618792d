import { fromBinary } from '@bufbuild/protobuf';
import { Code, TalosError } from '@talos-ts/cosi';
import {
  cgroupsV1Pb,
  cgroupsV2Pb,
  clientOn,
  containerdContainersPb,
  containerdTasksPb,
  containerdTaskTypesPb,
  createH2Channel,
  type GrpcClient,
  type H2Channel,
} from '@talos-ts/machinery';

/** The namespace Talos runs its own containers in, and the one the CRI (Kubernetes) uses. */
export const SYSTEM_NAMESPACE = 'system';
export const K8S_NAMESPACE = 'k8s.io';

/** The request header that carries containerd's namespace on every call. */
const NAMESPACE_HEADER = 'containerd-namespace';

/** Labels the CRI puts on the containers it creates. */
const POD_NAME_LABEL = 'io.kubernetes.pod.name';
const POD_NAMESPACE_LABEL = 'io.kubernetes.pod.namespace';
const CONTAINER_NAME_LABEL = 'io.kubernetes.container.name';

/** Usage of a running task: memory in bytes (without inactive page cache on cgroup v1), CPU in ns. */
export interface ContainerMetrics {
  readonly memoryUsageBytes: bigint;
  readonly cpuUsageNs: bigint;
}

/** One container with a task, as `talosctl containers` and `stats` show it. */
export interface ContainerView {
  /** containerd's container id. */
  readonly internalId: string;
  /** What users name it by: the id, or `<k8s namespace>/<pod>[:<container>]` for CRI containers. */
  readonly display: string;
  readonly name: string;
  /** The pod (`<k8s namespace>/<pod>`), or the display id for containers outside pods. */
  readonly podName: string;
  readonly image: string;
  readonly pid: number;
  /** The task status in capitals: RUNNING, STOPPED, CREATED, PAUSED, PAUSING, UNKNOWN. */
  readonly status: string;
  readonly metrics?: ContainerMetrics;
}

/** Options of {@link ContainerdInspector}. */
export interface ContainerdInspectorOptions {
  /** containerd's gRPC socket path. */
  readonly socket: string;
  readonly namespace: string;
  /** Per-call deadline (default 10 s). */
  readonly timeoutMs?: number;
}

type Container = containerdContainersPb.Container;

/**
 * Reads containers and their tasks from containerd's own API over its unix socket, in one
 * namespace, the way upstream's containerd inspector does: containers without a task are not
 * listed, Kubernetes containers are named after their pod, and a restart is SIGTERM to the task
 * (whoever supervises it starts it again).
 */
export class ContainerdInspector implements Disposable {
  readonly namespace: string;
  readonly #channel: H2Channel;
  readonly #containers: GrpcClient<typeof containerdContainersPb.Containers>;
  readonly #tasks: GrpcClient<typeof containerdTasksPb.Tasks>;
  readonly #timeoutMs: number;

  constructor(options: ContainerdInspectorOptions) {
    if (options.namespace === '') throw new TalosError(Code.InvalidArgument, "namespace can't be empty");
    this.namespace = options.namespace;
    this.#channel = createH2Channel(`unix:${options.socket}`);
    this.#containers = clientOn(containerdContainersPb.Containers, this.#channel);
    this.#tasks = clientOn(containerdTasksPb.Tasks, this.#channel);
    this.#timeoutMs = options.timeoutMs ?? 10_000;
  }

  #opts(signal?: AbortSignal): { metadata: Record<string, string>; timeoutMs: number; signal?: AbortSignal } {
    return { metadata: { [NAMESPACE_HEADER]: this.namespace }, timeoutMs: this.#timeoutMs, ...(signal ? { signal } : {}) };
  }

  /** Every container of the namespace that has a task, with metrics for the running ones. */
  async list(signal?: AbortSignal): Promise<ContainerView[]> {
    const [{ containers }, { tasks }] = await Promise.all([this.#containers.list({}, this.#opts(signal)), this.#tasks.list({}, this.#opts(signal))]);
    return this.#views(containers, tasks, signal);
  }

  /**
   * One container by id, or by `<k8s namespace>/<pod>[:<container>]` as `list` displays CRI
   * containers (without `:<container>`, the pod's sandbox). Undefined when none has a task.
   */
  async find(id: string, signal?: AbortSignal): Promise<ContainerView | undefined> {
    const slash = id.indexOf('/');
    let filter: string;
    let sandboxOnly = false;
    if (slash > 0) {
      const ns = id.slice(0, slash);
      let pod = id.slice(slash + 1);
      const colon = pod.lastIndexOf(':');
      const name = colon > 0 ? pod.slice(colon + 1) : '';
      if (colon > 0) pod = pod.slice(0, colon);
      filter = `labels."${POD_NAMESPACE_LABEL}"==${JSON.stringify(ns)},labels."${POD_NAME_LABEL}"==${JSON.stringify(pod)}`;
      if (name !== '') filter += `,labels."${CONTAINER_NAME_LABEL}"==${JSON.stringify(name)}`;
      else sandboxOnly = true;
    } else {
      filter = `id==${JSON.stringify(id)}`;
    }
    const { containers } = await this.#containers.list({ filters: [filter] }, this.#opts(signal));
    const candidates = sandboxOnly ? containers.filter((c) => c.labels[CONTAINER_NAME_LABEL] === undefined) : containers;
    if (candidates.length === 0) return undefined;
    const { tasks } = await this.#tasks.list({}, this.#opts(signal));
    return (await this.#views(candidates, tasks, signal))[0];
  }

  /** Sends a signal to a container's task (its init process). */
  async kill(internalId: string, signalNumber: number, signal?: AbortSignal): Promise<void> {
    await this.#tasks.kill({ containerId: internalId, signal: signalNumber }, this.#opts(signal));
  }

  async #views(containers: readonly Container[], tasks: readonly containerdTaskTypesPb.Process[], signal?: AbortSignal): Promise<ContainerView[]> {
    // ListTasks names each task's container in `id` (container_id stays empty there).
    const taskOf = new Map(tasks.map((t) => [t.containerId || t.id, t]));
    const running = containers.filter((c) => taskOf.get(c.id)?.status === containerdTaskTypesPb.Status.RUNNING).map((c) => c.id);
    const metrics = running.length > 0 ? await this.#metrics(running, signal) : new Map<string, ContainerMetrics>();
    const out: ContainerView[] = [];
    for (const c of containers) {
      const task = taskOf.get(c.id);
      if (!task) continue;
      const podName = c.labels[POD_NAME_LABEL];
      const podNamespace = c.labels[POD_NAMESPACE_LABEL];
      const pod = podName !== undefined && podNamespace !== undefined ? `${podNamespace}/${podName}` : c.id;
      const containerName = c.labels[CONTAINER_NAME_LABEL];
      const m = metrics.get(c.id);
      out.push({
        internalId: c.id,
        display: containerName !== undefined ? `${pod}:${containerName}` : pod,
        name: containerName ?? c.id,
        podName: pod,
        image: c.image,
        pid: task.pid,
        status: containerdTaskTypesPb.Status[task.status] ?? 'UNKNOWN',
        ...(m ? { metrics: m } : {}),
      });
    }
    return out;
  }

  async #metrics(ids: readonly string[], signal?: AbortSignal): Promise<Map<string, ContainerMetrics>> {
    // containerd ORs the filters: one call for every running task.
    const { metrics } = await this.#tasks.metrics({ filters: ids.map((id) => `id==${JSON.stringify(id)}`) }, this.#opts(signal));
    const out = new Map<string, ContainerMetrics>();
    for (const m of metrics) {
      const decoded = m.data ? decodeCgroupMetrics(m.data.typeUrl, m.data.value) : undefined;
      if (decoded) out.set(m.id, decoded);
    }
    return out;
  }

  [Symbol.dispose](): void {
    this.#channel.close();
  }
}

/**
 * Memory and CPU usage from a task's cgroup metrics, v1 or v2 by the Any's type URL. On v1 the
 * inactive page cache is taken off the usage, as upstream does (it is reclaimable); v2 reports
 * CPU time in microseconds, turned into nanoseconds. Unknown types give undefined.
 */
export function decodeCgroupMetrics(typeUrl: string, value: Uint8Array): ContainerMetrics | undefined {
  const type = typeUrl.slice(typeUrl.lastIndexOf('/') + 1);
  if (type === cgroupsV1Pb.MetricsSchema.typeName) {
    const v1 = fromBinary(cgroupsV1Pb.MetricsSchema, value);
    const usage = v1.memory?.usage?.usage ?? 0n;
    const inactive = v1.memory?.totalInactiveFile ?? 0n;
    return { memoryUsageBytes: inactive < usage ? usage - inactive : 0n, cpuUsageNs: v1.cpu?.usage?.total ?? 0n };
  }
  if (type === cgroupsV2Pb.MetricsSchema.typeName) {
    const v2 = fromBinary(cgroupsV2Pb.MetricsSchema, value);
    return { memoryUsageBytes: v2.memory?.usage ?? 0n, cpuUsageNs: (v2.cpu?.usageUsec ?? 0n) * 1000n };
  }
  return undefined;
}
