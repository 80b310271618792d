// The network controllers, wired in one place: node.ts registers what networkControllers() returns.
import type { Controller } from '@talos-ts/cosi';
import type { NetworkKernel } from '../../linux/rtnetlink.ts';
import { createAddressConfigController } from './address-config.ts';
import { createAddressMergeController } from './address-merge.ts';
import { AddressSpecController } from './address-spec.ts';
import { AddressStatusController } from './address-status.ts';
import { EtcFileController, type EtcFileWriter } from './etcfile.ts';
import { HardwareAddrController } from './hardware-addr.ts';
import { createHostnameConfigController } from './hostname-config.ts';
import { createHostnameMergeController } from './hostname-merge.ts';
import { HostnameSpecController } from './hostname-spec.ts';
import { createLinkConfigController } from './link-config.ts';
import { createLinkMergeController } from './link-merge.ts';
import { LinkSpecController } from './link-spec.ts';
import { LinkStatusController } from './link-status.ts';
import { NodeAddressController } from './node-address.ts';
import { createOperatorConfigController } from './operator-config.ts';
import { createOperatorMergeController } from './operator-merge.ts';
import { OperatorSpecController, type OpenDhcpTransport } from './operator-spec.ts';
import { OperatorVIPController, type OperatorVIPOptions } from './operator-vip.ts';
import { createResolverConfigController } from './resolver-config.ts';
import { createResolverMergeController } from './resolver-merge.ts';
import { createResolverSpecController } from './resolver-spec.ts';
import { createRouteConfigController } from './route-config.ts';
import { createRouteMergeController } from './route-merge.ts';
import { RouteSpecController } from './route-spec.ts';
import { RouteStatusController } from './route-status.ts';
import { NetworkStatusController } from './status.ts';
import { createTimeServerConfigController } from './timeserver-config.ts';
import { createTimeServerMergeController } from './timeserver-merge.ts';
import { createTimeServerSpecController } from './timeserver-spec.ts';

/** Options of {@link networkControllers}. */
export interface NetworkControllersOptions {
  /** The hostname when nothing names one. */
  readonly defaultHostname: string;
  /** The kernel command line (metal); empty or absent in container mode. */
  readonly cmdline?: string;
  /** Opens the kernel's networking; without it no status is observed and nothing is applied. */
  readonly openKernel?: () => NetworkKernel;
  /**
   * Whether machined owns the network it runs in (metal, or a node in a namespace of its own): only
   * then do the spec controllers change links, addresses and routes. Off in container mode, where
   * the host's network is read, never written.
   */
  readonly ownsNetwork?: boolean;
  /** Sets the kernel hostname (metal only). */
  readonly setKernelHostname?: (name: string) => void;
  /** Writes /etc/hosts and /etc/resolv.conf; absent: the files are not written. */
  readonly writeEtcFile?: EtcFileWriter;
  /** Opens a DHCP client's socket on a link; with ownsNetwork, the DHCP operators run. */
  readonly openDhcpTransport?: OpenDhcpTransport;
  /** The VIP operator's etcd and release hooks; absent: no VIP operator (it also needs ownsNetwork). */
  readonly vip?: Omit<OperatorVIPOptions, 'openKernel'>;
  /** Sends a gratuitous ARP for an address out a link (addresses marked `announceWithARP`, e.g. the VIP). */
  readonly announce?: (linkName: string, ip: string) => void;
}

/** Every network controller for this node, in upstream's Config → Merge → Spec → Status shape. */
export function networkControllers(options: NetworkControllersOptions): Controller[] {
  const source = options.cmdline !== undefined ? { cmdline: options.cmdline } : {};
  const out: Controller[] = [
    createAddressConfigController(source),
    createLinkConfigController(source),
    createRouteConfigController(source),
    createHostnameConfigController({ ...source, defaultHostname: options.defaultHostname }),
    createResolverConfigController(source),
    createTimeServerConfigController(source),
    createOperatorConfigController(source),
    createAddressMergeController(),
    createLinkMergeController(),
    createRouteMergeController(),
    createHostnameMergeController(),
    createResolverMergeController(),
    createTimeServerMergeController(),
    createOperatorMergeController(),
    new HostnameSpecController(options.setKernelHostname ? { setKernelHostname: options.setKernelHostname } : {}),
    createResolverSpecController(),
    createTimeServerSpecController(),
    new NodeAddressController(),
    new HardwareAddrController(),
    new NetworkStatusController(),
  ];
  if (options.writeEtcFile) out.push(new EtcFileController({ write: options.writeEtcFile }));
  const openKernel = options.openKernel;
  if (openKernel) {
    out.push(new LinkStatusController({ openKernel }), new AddressStatusController({ openKernel }), new RouteStatusController({ openKernel }));
    if (options.ownsNetwork) out.push(new LinkSpecController({ openKernel }), new AddressSpecController({ openKernel, ...(options.announce ? { announce: options.announce } : {}) }), new RouteSpecController({ openKernel }));
    if (options.ownsNetwork && options.openDhcpTransport) out.push(new OperatorSpecController({ openTransport: options.openDhcpTransport }));
    if (options.ownsNetwork && options.vip) out.push(new OperatorVIPController({ ...options.vip, openKernel }));
  }
  return out;
}
