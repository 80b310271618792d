import { bootstrapMeta, registerNamespace, registerResourceDefinition, type ResourceDefinitionInput, type State } from '@talos-ts/cosi';
import { talosNamespaces } from './namespaces.ts';
import { machineConfigDefinition } from './config/machine-config.ts';
import { machineTypeDefinition } from './config/machine-type.ts';
import { versionDefinition } from './runtime/version.ts';
import { mountStatusDefinition } from './runtime/mount-status.ts';
import { metaKeyDefinition } from './runtime/meta-key.ts';
import { upgradeStatusDefinition } from './runtime/upgrade-status.ts';
import { volumeStatusDefinition } from './block/volume-status.ts';
import { hostnameStatusDefinition } from './network/hostname-status.ts';
import { networkResourceDefinitions } from './network/index.ts';
import { nodenameDefinition } from './k8s/nodename.ts';
import { apiCertificatesDefinition } from './secrets/api.ts';
import { etcdCertificatesDefinition } from './secrets/etcd.ts';
import { etcdConfigDefinition } from './etcd/config.ts';
import { etcdSpecDefinition } from './etcd/spec.ts';
import { serviceDefinition } from './v1alpha1/service.ts';
import { identityDefinition } from './cluster/identity.ts';
import { affiliateDefinition } from './cluster/affiliate.ts';
import { memberDefinition } from './cluster/member.ts';
import { discoveryConfigDefinition } from './cluster/config.ts';
import { timeStatusDefinition } from './time/status.ts';
import { kubeSpanConfigDefinition } from './kubespan/config.ts';
import { kubeSpanIdentityDefinition } from './kubespan/identity.ts';
import { kubeSpanPeerSpecDefinition } from './kubespan/peer-spec.ts';
import { kubeSpanPeerStatusDefinition } from './kubespan/peer-status.ts';
import { kubeSpanEndpointDefinition } from './kubespan/endpoint.ts';

/** Every Talos resource type this build knows. */
export const talosResourceDefinitions: readonly ResourceDefinitionInput[] = [
  machineConfigDefinition,
  machineTypeDefinition,
  versionDefinition,
  mountStatusDefinition,
  metaKeyDefinition,
  upgradeStatusDefinition,
  volumeStatusDefinition,
  hostnameStatusDefinition,
  nodenameDefinition,
  apiCertificatesDefinition,
  etcdCertificatesDefinition,
  etcdConfigDefinition,
  etcdSpecDefinition,
  serviceDefinition,
  identityDefinition,
  affiliateDefinition,
  memberDefinition,
  discoveryConfigDefinition,
  timeStatusDefinition,
  kubeSpanConfigDefinition,
  kubeSpanIdentityDefinition,
  kubeSpanPeerSpecDefinition,
  kubeSpanPeerStatusDefinition,
  kubeSpanEndpointDefinition,
  ...networkResourceDefinitions,
];

/** Registers the meta types, every Talos namespace and every Talos resource definition. */
export function registerTalosResources(state: State): void {
  bootstrapMeta(state);
  for (const ns of talosNamespaces) registerNamespace(state, ns.name, ns.description);
  for (const d of talosResourceDefinitions) registerResourceDefinition(state, d);
}
