import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of the etcd settings taken from the machine config (control planes only). */
export const EtcdConfigType = 'EtcdConfigs.etcd.talos.dev';

/** Singleton id, as upstream. */
export const EtcdConfigId = 'etcd';

/** Spec of EtcdConfig: which node addresses etcd may advertise and listen on. */
export interface EtcdConfigSpec {
  /** `cluster.etcd.advertisedSubnets` (entries starting with `!` exclude); empty: any address. */
  readonly advertiseValidSubnets: readonly string[];
  /** Never advertised: the shared VIPs, which are no node's own address. */
  readonly advertiseExcludeSubnets: readonly string[];
  /** `cluster.etcd.listenSubnets`; empty: etcd listens on every address. */
  readonly listenValidSubnets: readonly string[];
  readonly listenExcludeSubnets: readonly string[];
  readonly image: string;
  readonly extraArgs: Readonly<Record<string, string>>;
}

/** The EtcdConfig resource in the `etcd` namespace. */
export function newEtcdConfig(spec: EtcdConfigSpec): Resource<EtcdConfigSpec> {
  return newResource({ namespace: NamespaceName.etcd, type: EtcdConfigType }, EtcdConfigId, spec);
}

/** Definition: `talosctl get etcdconfigs`. */
export const etcdConfigDefinition: ResourceDefinitionInput = {
  type: EtcdConfigType,
  displayType: 'EtcdConfig',
  aliases: [],
  defaultNamespace: NamespaceName.etcd,
  printColumns: [],
};
