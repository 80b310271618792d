import { Code, TalosError } from '@talos-ts/cosi';
import { commonPb, type machinePb } from '@talos-ts/machinery';
import { ContainerdInspector, K8S_NAMESPACE } from '../containerd/inspector.ts';
import type { PartialImplementation } from './implement.ts';

type Containers = Pick<PartialImplementation<typeof machinePb.MachineService>, 'containers' | 'stats' | 'restart'>;

const SIGTERM = 15;

/**
 * An inspector for a request's namespace and driver. Upstream's CRI driver speaks the CRI API to
 * the Kubernetes containerd; we have no CRI runtime running (no kubelet yet), so the CRI driver
 * reads the same `k8s.io` containers through containerd's own API, where the CRI keeps them with
 * their io.kubernetes.* labels. The namespace rules are upstream's.
 */
function inspectorFor(socket: () => string | undefined, namespace: string, driver: commonPb.ContainerDriver): ContainerdInspector {
  if (namespace === '') throw new TalosError(Code.InvalidArgument, "namespace can't be empty");
  if (driver === commonPb.ContainerDriver.CRI) {
    if (namespace !== K8S_NAMESPACE) throw new TalosError(Code.InvalidArgument, 'CRI inspector is supported only for K8s namespace');
  } else if (driver !== commonPb.ContainerDriver.CONTAINERD) {
    throw new TalosError(Code.InvalidArgument, `unsupported driver ${driver}`);
  }
  const path = socket();
  if (path === undefined) throw new TalosError(Code.Unavailable, 'containerd is not running on this node');
  return new ContainerdInspector({ socket: path, namespace });
}

/**
 * Containers, Stats and Restart of machine.MachineService, read from containerd. `socket` gives
 * containerd's socket, or undefined on a node that does not run it.
 */
export function createContainersService(socket: () => string | undefined): Containers {
  return {
    async containers(req, ctx) {
      using inspector = inspectorFor(socket, req.namespace, req.driver);
      const containers = (await inspector.list(ctx.signal)).map((c) => ({
        namespace: req.namespace,
        id: c.display,
        internalId: c.internalId,
        podId: c.podName,
        name: c.name,
        image: c.image,
        pid: c.pid,
        status: c.status,
      }));
      return { messages: [{ containers }] };
    },
    async stats(req, ctx) {
      using inspector = inspectorFor(socket, req.namespace, req.driver);
      const stats = (await inspector.list(ctx.signal)).flatMap((c) =>
        c.metrics
          ? [{ namespace: req.namespace, id: c.display, podId: c.podName, name: c.name, memoryUsage: c.metrics.memoryUsageBytes, cpuUsage: c.metrics.cpuUsageNs }]
          : [],
      );
      return { messages: [{ stats }] };
    },
    async restart(req, ctx) {
      using inspector = inspectorFor(socket, req.namespace, req.driver);
      const container = await inspector.find(req.id, ctx.signal);
      if (!container) throw new TalosError(Code.NotFound, `container ${JSON.stringify(req.id)} not found`);
      // As upstream: the task gets SIGTERM and its supervisor (machined for system containers,
      // the kubelet for pods) starts it again.
      await inspector.kill(container.internalId, SIGTERM, ctx.signal);
      return { messages: [{}] };
    },
  };
}
