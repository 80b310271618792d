import type { KubeSpanLink } from '../controllers/kubespan/manager.ts';
import { WireGuardLink } from './kubespan-link.ts';
import type { NetlinkSocketOptions } from './netlink-socket.ts';

/**
 * The node's `kubespan` link, opened on first use: a node registers the KubeSpan manager whether or
 * not KubeSpan is enabled, and only an enabled one should hold netlink sockets.
 */
export function lazyWireGuardLink(options: NetlinkSocketOptions = {}): KubeSpanLink & Disposable {
  let link: WireGuardLink | undefined;
  const open = (): WireGuardLink => (link ??= new WireGuardLink(options));
  return {
    peers: () => open().peers(),
    configure: (device, addr) => open().configure(device, addr),
    remove: () => open().remove(),
    [Symbol.dispose]() {
      link?.[Symbol.dispose]();
      link = undefined;
    },
  };
}
