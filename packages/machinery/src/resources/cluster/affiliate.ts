import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import type { MachineKind } from '../config/machine-type.ts';
import { NamespaceName } from '../namespaces.ts';

/** Type of a discovered (or the local) potential cluster member. */
export const AffiliateType = 'Affiliates.cluster.talos.dev';

/** KubeSpan data an affiliate publishes (only when KubeSpan is enabled). */
export interface KubeSpanAffiliateSpec {
  readonly publicKey: string;
  readonly address: string;
  readonly additionalAddresses: readonly string[];
  /** `ip:port` (IPv6 as `[ip]:port`). */
  readonly endpoints: readonly string[];
  /** Networks the node does not want routed to it over KubeSpan (its filters.excludeAdvertisedNetworks). */
  readonly excludeAdvertisedNetworks?: readonly string[];
}

/** Control plane data of an affiliate. */
export interface ControlPlaneSpec {
  /** The Kubernetes API server port (upstream's YAML key is `port`). */
  readonly port: number;
}

/**
 * Spec of Affiliate. Merged affiliates live in `cluster` (id = node id); the per-source raw ones
 * in `cluster-raw` (id = `<source>/<node id>`, e.g. `service/…`).
 */
export interface AffiliateSpec {
  readonly nodeId: string;
  /** IP addresses, without prefix length. */
  readonly addresses: readonly string[];
  readonly hostname: string;
  /** Empty when the affiliate is not a Kubernetes node (then it is no Member). */
  readonly nodename: string;
  readonly operatingSystem: string;
  readonly machineType: MachineKind;
  readonly kubespan?: KubeSpanAffiliateSpec;
  readonly controlPlane?: ControlPlaneSpec;
}

/** An Affiliate resource in the namespace (`cluster` or `cluster-raw`). */
export function newAffiliate(namespace: string, id: string, spec: AffiliateSpec): Resource<AffiliateSpec> {
  return newResource({ namespace, type: AffiliateType }, id, spec);
}

const union = (a: readonly string[], b: readonly string[]): string[] => [...a, ...b.filter((x) => !a.includes(x))];

/**
 * Folds what another source knows about the same node into `base`: address lists are unioned,
 * set scalar fields of `other` win, empty ones keep `base`'s (as upstream's AffiliateSpec.Merge).
 */
export function mergeAffiliateSpecs(base: AffiliateSpec, other: AffiliateSpec): AffiliateSpec {
  const ks = base.kubespan ?? other.kubespan;
  const kubespan =
    ks === undefined
      ? undefined
      : {
          publicKey: other.kubespan?.publicKey || base.kubespan?.publicKey || '',
          address: other.kubespan?.address || base.kubespan?.address || '',
          additionalAddresses: union(base.kubespan?.additionalAddresses ?? [], other.kubespan?.additionalAddresses ?? []),
          endpoints: union(base.kubespan?.endpoints ?? [], other.kubespan?.endpoints ?? []),
        };
  const controlPlane = other.controlPlane ?? base.controlPlane;
  return {
    nodeId: base.nodeId,
    addresses: union(base.addresses, other.addresses),
    hostname: other.hostname || base.hostname,
    nodename: other.nodename || base.nodename,
    operatingSystem: other.operatingSystem || base.operatingSystem,
    machineType: other.machineType !== 'unknown' ? other.machineType : base.machineType,
    ...(kubespan ? { kubespan } : {}),
    ...(controlPlane ? { controlPlane: { ...controlPlane } } : {}),
  };
}

/** Definition: `talosctl get affiliates` (add `--namespace cluster-raw` for the per-source ones). */
export const affiliateDefinition: ResourceDefinitionInput = {
  type: AffiliateType,
  displayType: 'Affiliate',
  defaultNamespace: NamespaceName.cluster,
  printColumns: [
    { name: 'Hostname', jsonPath: '{.hostname}' },
    { name: 'Machine Type', jsonPath: '{.machineType}' },
    { name: 'Addresses', jsonPath: '{.addresses}' },
  ],
};
