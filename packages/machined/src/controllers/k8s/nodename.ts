import { createTransformController, type Controller } from '@talos-ts/cosi';
import {
  HostnameStatusType,
  NamespaceName,
  NodenameId,
  NodenameType,
  fqdn,
  type HostnameStatusSpec,
  type NodenameSpec,
} from '@talos-ts/machinery';

/** Derives the Kubernetes node name from the hostname (lower case, as the kubelet registers). */
export function createNodenameController(): Controller {
  return createTransformController<HostnameStatusSpec, NodenameSpec>({
    name: 'k8s.NodenameController',
    input: { namespace: NamespaceName.network, type: HostnameStatusType },
    output: { namespace: NamespaceName.k8s, type: NodenameType },
    transform: (r) => ({
      id: NodenameId,
      spec: { nodename: fqdn(r.spec).toLowerCase(), hostnameVersion: String(r.metadata.version) },
    }),
  });
}
