import type { Controller } from '@talos-ts/cosi';
import { join } from 'node:path';
import { createKubeSpanConfigController } from './config.ts';
import { KubeSpanEndpointController } from './endpoint.ts';
import { KUBESPAN_IDENTITY_FILENAME, KubeSpanIdentityController } from './identity.ts';
import { KubeSpanPeerSpecController } from './peer-spec.ts';
import { KubeSpanManagerController, kernelFirewall, type KubeSpanFirewall, type KubeSpanLink } from './manager.ts';

export { createKubeSpanConfigController } from './config.ts';
export { KubeSpanEndpointController } from './endpoint.ts';
export { KubeSpanIdentityController, HardwareAddrType, FirstHardwareAddrId, KUBESPAN_IDENTITY_FILENAME } from './identity.ts';
export type { KubeSpanIdentityControllerOptions } from './identity.ts';
export { KubeSpanPeerSpecController } from './peer-spec.ts';
export { kubeSpanAddress, kubeSpanSubnet } from './address.ts';
export { generateWireGuardKeyPair, wireGuardPublicKey, parseWireGuardKey } from './keys.ts';
export { peerState, pickNextEndpoint, shouldChangeEndpoint, PEER_DOWN_INTERVAL_MS, ENDPOINT_CONNECTION_TIMEOUT_MS, PEER_RECONCILE_INTERVAL_MS } from './peer-state.ts';
export { derivePeerSpecs } from './peers.ts';
export { KubeSpanManagerController, kernelFirewall, ZERO_TIME } from './manager.ts';
export type { KubeSpanLink, KubeSpanFirewall, WireGuardObservation, KubeSpanManagerControllerOptions } from './manager.ts';

/** What {@link kubespanControllers} needs. */
export interface KubeSpanControllersOptions {
  /** The node's STATE directory; the identity is cached there as kubespan-identity.yaml. */
  readonly stateDir: string;
  /**
   * The `kubespan` WireGuard link (on a node: `new WireGuardLink()` from linux/kubespan-link.ts).
   * When given, the manager runs too: peer statuses, endpoint rotation, nftables and policy rules.
   */
  readonly link?: KubeSpanLink;
  /** Defaults to the kernel's nftables and rules in the node's own network namespace. */
  readonly firewall?: KubeSpanFirewall;
}

/**
 * The KubeSpan controllers: config, identity, peer specs and endpoint publication, plus the manager
 * when a link is given. The identity waits for a `HardwareAddresses.net.talos.dev` `first` resource in
 * `network` (upstream's first MAC) to derive the node's address.
 */
export function kubespanControllers(options: KubeSpanControllersOptions): Controller[] {
  return [
    createKubeSpanConfigController(),
    new KubeSpanIdentityController({ path: join(options.stateDir, KUBESPAN_IDENTITY_FILENAME) }),
    new KubeSpanPeerSpecController(),
    new KubeSpanEndpointController(),
    ...(options.link ? [new KubeSpanManagerController({ link: options.link, firewall: options.firewall ?? kernelFirewall() })] : []),
  ];
}
