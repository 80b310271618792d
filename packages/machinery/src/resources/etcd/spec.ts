import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of what the local etcd member is started with: its name and addresses. */
export const EtcdSpecType = 'EtcdSpecs.etcd.talos.dev';

/** Singleton id, as upstream. */
export const EtcdSpecId = 'etcd';

/** Spec of EtcdSpec (IPs without a prefix length). */
export interface EtcdSpecSpec {
  /** The member name: the node's hostname. */
  readonly name: string;
  /** The peer and client URLs etcd advertises are built from these. */
  readonly advertisedAddresses: readonly string[];
  readonly listenPeerAddresses: readonly string[];
  readonly listenClientAddresses: readonly string[];
  readonly image: string;
  readonly extraArgs: Readonly<Record<string, string>>;
}

/** The EtcdSpec resource in the `etcd` namespace. */
export function newEtcdSpec(spec: EtcdSpecSpec): Resource<EtcdSpecSpec> {
  return newResource({ namespace: NamespaceName.etcd, type: EtcdSpecType }, EtcdSpecId, spec);
}

/** Definition: `talosctl get etcdspecs`, with upstream's columns. */
export const etcdSpecDefinition: ResourceDefinitionInput = {
  type: EtcdSpecType,
  displayType: 'EtcdSpec',
  aliases: [],
  defaultNamespace: NamespaceName.etcd,
  printColumns: [
    { name: 'Name', jsonPath: '{.name}' },
    { name: 'AdvertisedAddresses', jsonPath: '{.advertisedAddresses}' },
    { name: 'ListenPeerAddresses', jsonPath: '{.listenPeerAddresses}' },
    { name: 'ListenClientAddresses', jsonPath: '{.listenClientAddresses}' },
  ],
};
