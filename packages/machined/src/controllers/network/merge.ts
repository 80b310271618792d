import { createMergeController, type Controller, type Resource } from '@talos-ts/cosi';
import { NamespaceName, layerRank, type ConfigLayer } from '@talos-ts/machinery';

/** Options of {@link createNetworkMergeController}. */
export interface NetworkMergeOptions<S extends { readonly layer: ConfigLayer }> {
  readonly name: string;
  readonly type: string;
  /** Folds the configs of one id, lowest layer first; default: the highest layer wins. */
  readonly merge?: (layers: readonly Resource<S>[]) => S | undefined;
}

/**
 * The shape of upstream's `<kind>_merge.go`: configs `<layer>/<id>` in `network-config` fold into
 * one `<id>` in `network`, the higher layer winning (default < cmdline < platform < operator <
 * configuration). Operators name theirs `<operator>/<link>/<id>`, as upstream, so that two operators
 * never overwrite each other's configs.
 */
export function createNetworkMergeController<S extends { readonly layer: ConfigLayer }>(options: NetworkMergeOptions<S>): Controller {
  return createMergeController<S, S>({
    name: options.name,
    input: { namespace: NamespaceName.networkConfig, type: options.type },
    output: { namespace: NamespaceName.network, type: options.type },
    key: (r) => mergeKey(r.metadata.id, r.spec.layer),
    layer: (r) => layerRank(r.spec.layer),
    outputKind: 'shared',
    ...(options.merge ? { merge: options.merge } : {}),
  });
}

/** The `network` id a config in `network-config` contributes to. */
export function mergeKey(id: string, layer: ConfigLayer): string {
  const parts = id.split('/');
  return parts.slice(layer === 'operator' ? 2 : 1).join('/');
}
