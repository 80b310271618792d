import { newResource, type Resource, type ResourceDefinitionInput } from '@talos-ts/cosi';
import { NamespaceName } from '../namespaces.ts';

/** Type of a link the kernel has. */
export const LinkStatusType = 'LinkStatuses.net.talos.dev';

/** Spec of LinkStatus (the rtnetlink part of upstream's; no ethtool data). */
export interface LinkStatusSpec {
  readonly index: number;
  /** `ether`, `loopback`, `void`, … */
  readonly type: string;
  readonly linkIndex: number;
  /** Upstream prints flags as `UP,BROADCAST,RUNNING,…`. */
  readonly flags: string;
  readonly hardwareAddr: string;
  readonly broadcastAddr: string;
  readonly mtu: number;
  readonly queueDisc: string;
  readonly masterIndex?: number;
  /** `up`, `down`, `unknown`, … */
  readonly operationalState: string;
  readonly kind: string;
  readonly slaveKind: string;
  readonly linkState: boolean;
  readonly vlan?: { readonly vlanID: number; readonly vlanProtocol: string };
}

/** A LinkStatus, id = the link name. */
export function newLinkStatus(id: string, spec: LinkStatusSpec): Resource<LinkStatusSpec> {
  return newResource({ namespace: NamespaceName.network, type: LinkStatusType }, id, spec);
}

/** Definition: `talosctl get links`. */
export const linkStatusDefinition: ResourceDefinitionInput = {
  type: LinkStatusType,
  displayType: 'LinkStatus',
  aliases: ['link', 'links'],
  defaultNamespace: NamespaceName.network,
  printColumns: [
    { name: 'Type', jsonPath: '{.type}' },
    { name: 'Kind', jsonPath: '{.kind}' },
    { name: 'Hw Addr', jsonPath: '{.hardwareAddr}' },
    { name: 'Oper State', jsonPath: '{.operationalState}' },
    { name: 'Link State', jsonPath: '{.linkState}' },
  ],
};
