/** Where a network config came from; higher layers win when configs are merged (upstream's ConfigLayer). */
export type ConfigLayer = 'default' | 'cmdline' | 'platform' | 'operator' | 'configuration';

/** Layers from the lowest to the highest priority. */
export const configLayers: readonly ConfigLayer[] = ['default', 'cmdline', 'platform', 'operator', 'configuration'];

/** The priority of a layer (0 = lowest). */
export function layerRank(layer: ConfigLayer): number {
  return configLayers.indexOf(layer);
}

/** Address family as upstream prints it. */
export type Family = 'inet4' | 'inet6';

/** Address and route scope as upstream prints it. */
export type Scope = 'global' | 'site' | 'link' | 'host' | 'nowhere';
