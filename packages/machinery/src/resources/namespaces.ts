import type { NamespaceSpec } from '@talos-ts/cosi';

/** Namespaces of Talos resources, as upstream names them. */
export const NamespaceName = {
  config: 'config',
  runtime: 'runtime',
  network: 'network',
  /** Network configs per source and layer, before the merge controllers fold them into `network`. */
  networkConfig: 'network-config',
  secrets: 'secrets',
  cluster: 'cluster',
  /** Affiliates per discovery source, before AffiliateMergeController merges them by node id. */
  clusterRaw: 'cluster-raw',
  k8s: 'k8s',
  etcd: 'etcd',
  v1alpha1: 'v1alpha1',
  kubespan: 'kubespan',
} as const;

/** Every Talos namespace with the description `talosctl get ns` shows. */
export const talosNamespaces: readonly (NamespaceSpec & { readonly name: string })[] = [
  { name: NamespaceName.config, description: 'Talos node configuration.' },
  { name: NamespaceName.runtime, description: 'Talos runtime.' },
  { name: NamespaceName.network, description: 'Networking resources.' },
  { name: NamespaceName.networkConfig, description: 'Networking configuration resources.' },
  { name: NamespaceName.secrets, description: 'Resources with secret material.' },
  { name: NamespaceName.cluster, description: 'Cluster configuration and discovery resources.' },
  { name: NamespaceName.clusterRaw, description: 'Cluster discovery raw resources (one per source).' },
  { name: NamespaceName.k8s, description: 'Kubernetes all node types resources.' },
  { name: NamespaceName.etcd, description: 'etcd resources.' },
  { name: NamespaceName.v1alpha1, description: 'Talos v1alpha1 subsystems glue resources.' },
  { name: NamespaceName.kubespan, description: 'KubeSpan resources.' },
];
