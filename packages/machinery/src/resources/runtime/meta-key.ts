import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { metaKeyId } from '../../meta/tags.ts';
import { NamespaceName } from '../namespaces.ts';

/** Type of one key of the META partition (upstream's). */
export const MetaKeyType = 'MetaKeys.runtime.talos.dev';

/** Spec of MetaKey: the value as text, as upstream's. */
export interface MetaKeySpec {
  readonly value: string;
}

/** A MetaKey; its id is the tag as `0x0a`. */
export function newMetaKey(tag: number, spec: MetaKeySpec): Resource<MetaKeySpec> {
  return newResource({ namespace: NamespaceName.runtime, type: MetaKeyType }, metaKeyId(tag), spec);
}

/** Definition: `talosctl get metakeys` (alias `meta`). */
export const metaKeyDefinition: ResourceDefinitionInput = {
  type: MetaKeyType,
  displayType: 'MetaKey',
  aliases: ['meta'],
  defaultNamespace: NamespaceName.runtime,
  printColumns: [{ name: 'Value', jsonPath: '{.value}' }],
};
