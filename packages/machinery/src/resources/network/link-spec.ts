import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';
import type { ConfigLayer } from './layer.ts';

/** Type of a desired link (physical or logical). */
export const LinkSpecType = 'LinkSpecs.net.talos.dev';

/** VLAN settings of a logical `vlan` link. */
export interface VlanSpec {
  readonly vlanID: number;
  /** `802.1q` or `802.1ad`. */
  readonly vlanProtocol: string;
}

/** Bond master settings (the few modes we apply). */
export interface BondMasterSpec {
  /** Upstream's mode names: `balance-rr`, `active-backup`, `802.3ad`, … */
  readonly mode: string;
  readonly miimon?: number;
}

/** Spec of LinkSpec; YAML names are upstream's. */
export interface LinkSpecSpec {
  readonly name: string;
  /** A link we create (vlan, bond, bridge, dummy) rather than one the hardware has. */
  readonly logical: boolean;
  readonly up: boolean;
  /** 0 leaves the kernel's MTU alone. */
  readonly mtu: number;
  /** rtnetlink kind of a logical link: `vlan`, `bond`, `bridge`, `dummy`. */
  readonly kind: string;
  readonly type: string;
  readonly parentName?: string;
  /** Bond or bridge this link is enslaved to (upstream inlines bond slaves as `masterName`). */
  readonly masterName?: string;
  readonly bridgeSlave?: { readonly masterName: string };
  readonly vlan?: VlanSpec;
  readonly bondMaster?: BondMasterSpec;
  readonly layer: ConfigLayer;
}

/** A LinkSpec in the given namespace. */
export function newLinkSpec(namespace: string, id: string, spec: LinkSpecSpec): Resource<LinkSpecSpec> {
  return newResource({ namespace, type: LinkSpecType }, id, spec);
}

/** Definition: `talosctl get linkspecs`. */
export const linkSpecDefinition: ResourceDefinitionInput = {
  type: LinkSpecType,
  displayType: 'LinkSpec',
  aliases: [],
  defaultNamespace: NamespaceName.network,
};
