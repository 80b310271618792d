import { createTransformController, type Controller } from '@talos-ts/cosi';
import { AffiliateType, MemberType, NamespaceName, type AffiliateSpec, type MemberSpec } from '@talos-ts/machinery';

/** Members from the merged Affiliates that are Kubernetes nodes (nodename set), keyed by nodename. */
export function createMemberController(): Controller {
  return createTransformController<AffiliateSpec, MemberSpec>({
    name: 'cluster.MemberController',
    input: { namespace: NamespaceName.cluster, type: AffiliateType },
    output: { namespace: NamespaceName.cluster, type: MemberType },
    transform: (r) => {
      const a = r.spec;
      if (a.nodename === '') return undefined;
      return {
        id: a.nodename,
        spec: {
          nodeId: a.nodeId,
          addresses: [...a.addresses],
          hostname: a.hostname,
          machineType: a.machineType,
          operatingSystem: a.operatingSystem,
          ...(a.controlPlane ? { controlPlane: { ...a.controlPlane } } : {}),
        },
      };
    },
  });
}
