import { timestampFromMs } from '@bufbuild/protobuf/wkt';
import { Code, TalosError } from '@talos-ts/cosi';
import { commonPb, type machinePb } from '@talos-ts/machinery';
import { ContainerdContent } from '../containerd/content.ts';
import { K8S_NAMESPACE, SYSTEM_NAMESPACE } from '../containerd/inspector.ts';
import type { PartialImplementation } from './implement.ts';

type Images = Pick<PartialImplementation<typeof machinePb.MachineService>, 'imageList'>;

/** containerd's namespace for an API namespace, as upstream maps them; anything else is InvalidArgument. */
export function containerdNamespace(ns: commonPb.ContainerdNamespace): string {
  switch (ns) {
    case commonPb.ContainerdNamespace.NS_SYSTEM:
      return SYSTEM_NAMESPACE;
    case commonPb.ContainerdNamespace.NS_CRI:
      return K8S_NAMESPACE;
    default:
      throw new TalosError(Code.InvalidArgument, `invalid namespace ${commonPb.ContainerdNamespace[ns] ?? ns}`);
  }
}

/**
 * ImageList of machine.MachineService: the image records of one containerd namespace with their
 * digest, creation time and size. Upstream reads the CRI's containerd; this node runs one
 * containerd, whose `k8s.io` namespace is where the CRI keeps its images. `socket` gives
 * containerd's socket, or undefined on a node that does not run it (Unavailable).
 */
export function createImagesService(socket: () => string | undefined): Images {
  return {
    async *imageList(req, ctx) {
      const namespace = containerdNamespace(req.namespace);
      const path = socket();
      if (path === undefined) throw new TalosError(Code.Unavailable, 'containerd is not running on this node');
      using store = new ContainerdContent({ socket: path, namespace });
      for (const image of await store.listImages([], ctx.signal)) {
        // As upstream: an image whose blobs are not all there is listed without a size.
        const size = await store.imageSize(image.target, ctx.signal).catch(() => 0);
        yield {
          name: image.name,
          digest: image.target.digest,
          size: BigInt(size),
          ...(image.createdAt ? { createdAt: timestampFromMs(image.createdAt.getTime()) } : {}),
        };
      }
    },
  };
}
