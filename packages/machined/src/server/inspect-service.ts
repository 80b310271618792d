import type { Controller } from '@talos-ts/cosi';
import { inspectPb } from '@talos-ts/machinery';
import type { PartialImplementation } from './implement.ts';

const Edge = inspectPb.DependencyEdgeType;
const inputEdge = { weak: Edge.INPUT_WEAK, strong: Edge.INPUT_STRONG, destroyReady: Edge.INPUT_DESTROY_READY } as const;

/** inspect.InspectService: the controller ↔ resource graph `talosctl inspect dependencies` draws. */
export function createInspectService(controllers: () => readonly Controller[]): PartialImplementation<typeof inspectPb.InspectService> {
  return {
    controllerRuntimeDependencies() {
      const edges = controllers().flatMap((c) => [
        ...c.inputs.map((i) => ({
          controllerName: c.name,
          edgeType: inputEdge[i.kind],
          resourceNamespace: i.namespace,
          resourceType: i.type,
          ...(i.id !== undefined ? { resourceId: i.id } : {}),
        })),
        ...c.outputs.map((o) => ({
          controllerName: c.name,
          edgeType: o.kind === 'exclusive' ? Edge.OUTPUT_EXCLUSIVE : Edge.OUTPUT_SHARED,
          resourceType: o.type,
        })),
      ]);
      return { messages: [{ edges }] };
    },
  };
}
