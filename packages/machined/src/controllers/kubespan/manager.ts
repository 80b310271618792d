import type { Controller, ControllerContext } from '@talos-ts/cosi';
import {
  KubeSpanConfigId,
  KubeSpanConfigType,
  KubeSpanIdentityType,
  KubeSpanLocalIdentityId,
  KubeSpanPeerSpecType,
  KubeSpanPeerStatusType,
  NamespaceName,
  type KubeSpanConfigSpec,
  type KubeSpanIdentitySpec,
  type KubeSpanPeerSpecSpec,
  type KubeSpanPeerStatusSpec,
} from '@talos-ts/machinery';
import { KubeSpanKernel, KubeSpanKernelState, type KubeSpanKernelOptions } from '../../linux/kubespan.ts';
import type { WireGuardDeviceConfig, WireGuardPeerConfig } from '../../linux/wireguard.ts';
import { ULA_KUBESPAN } from './address.ts';
import { IpSet, parseRange, type IpRange } from './ipset.ts';
import { PEER_RECONCILE_INTERVAL_MS, peerState, pickNextEndpoint, shouldChangeEndpoint, type PeerRotation } from './peer-state.ts';

/** Go's zero time as upstream's YAML prints it: "never". */
export const ZERO_TIME = '0001-01-01T00:00:00Z';

/** A peer as the WireGuard link reports it. */
export interface WireGuardObservation {
  /** `ip:port` the link currently sends to, '' when none. */
  readonly endpoint: string;
  /** Epoch ms of the last handshake; undefined when there was none. */
  readonly lastHandshakeMs: number | undefined;
  readonly receiveBytes: number;
  readonly transmitBytes: number;
}

/**
 * The KubeSpan WireGuard link, as the manager needs it. The real one speaks WG_CMD_SET_DEVICE /
 * GET_DEVICE (linux/wireguard.ts) to a `kubespan` link that the network controllers create.
 */
export interface KubeSpanLink {
  /** Peers by public key; undefined while the link does not exist. */
  peers(): Promise<ReadonlyMap<string, WireGuardObservation> | undefined>;
  /**
   * Sets the device to exactly this configuration (peers not listed are dropped), with the node's
   * KubeSpan address (CIDR, the subnet's length) and MTU on the link.
   */
  configure(device: WireGuardDeviceConfig, link: { readonly address: string; readonly mtu: number }): Promise<void>;
  /** KubeSpan was turned off: forget the device. */
  remove(): Promise<void>;
}

/** The nftables chains and policy rules that steer peer traffic into the link. */
export interface KubeSpanFirewall {
  apply(routed: readonly IpRange[], mtu: number): void;
  teardown(): void;
}

/** The real firewall: nftables and fwmark rules over netlink (optionally inside a network namespace). */
export function kernelFirewall(options: KubeSpanKernelOptions = {}): KubeSpanFirewall & Disposable {
  let kernel: KubeSpanKernelState | undefined;
  const open = (): KubeSpanKernelState => (kernel ??= new KubeSpanKernelState(options));
  return {
    apply(routed, mtu) {
      open().applyFirewall(routed, mtu);
      open().applyRules();
    },
    teardown() {
      open().teardown();
    },
    [Symbol.dispose]() {
      kernel?.[Symbol.dispose]();
      kernel = undefined;
    },
  };
}

/** Options of {@link KubeSpanManagerController}. */
export interface KubeSpanManagerControllerOptions {
  readonly link: KubeSpanLink;
  readonly firewall: KubeSpanFirewall;
}

const isKubeSpanUla = (r: IpRange): boolean => r.family === 6 && ((r.first >> 120n) & 0xffn) === 0xfdn && ((r.first >> 64n) & 0xffn) === BigInt(ULA_KUBESPAN);
const ms = (iso: string): number | undefined => (iso === ZERO_TIME || iso === '' ? undefined : Date.parse(iso));
const iso = (t: number | undefined): string => (t === undefined ? ZERO_TIME : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z'));

/**
 * Drives the mesh (upstream's kubespan.ManagerController): every wake-up and every 30 s it reads
 * the link's peers, works out each peer's state, rotates the endpoint of peers that are down to the
 * next known one, publishes KubeSpanPeerStatus, configures the link, and marks traffic for peer
 * addresses into the KubeSpan table — for every peer, or with allowDownPeerBypass only for peers
 * that are up, so a down peer's traffic takes the normal route instead of a dead tunnel.
 */
export class KubeSpanManagerController implements Controller {
  readonly name = 'kubespan.ManagerController';
  readonly inputs = [
    { namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId, kind: 'weak' as const },
    { namespace: NamespaceName.kubespan, type: KubeSpanIdentityType, id: KubeSpanLocalIdentityId, kind: 'weak' as const },
    { namespace: NamespaceName.kubespan, type: KubeSpanPeerSpecType, kind: 'weak' as const },
  ];
  readonly outputs = [{ type: KubeSpanPeerStatusType, kind: 'exclusive' as const }];
  readonly #options: KubeSpanManagerControllerOptions;

  constructor(options: KubeSpanManagerControllerOptions) {
    this.#options = options;
  }

  async run(ctx: ControllerContext): Promise<void> {
    const statusKind = { namespace: NamespaceName.kubespan, type: KubeSpanPeerStatusType };
    const { link, firewall } = this.#options;
    let active = false;
    let appliedRouted: string | undefined;
    // One reconcile timer at a time: every wake-up scheduling its own would multiply them.
    let wakeAt: number | undefined;
    for await (const _ of ctx.changes()) {
      const cfg = ctx.find<KubeSpanConfigSpec>({ namespace: NamespaceName.config, type: KubeSpanConfigType, id: KubeSpanConfigId });
      if (!cfg?.spec.enabled) {
        for (const r of ctx.list(statusKind)) ctx.destroy({ ...statusKind, id: r.metadata.id });
        if (active) {
          firewall.teardown();
          await link.remove();
          ctx.logger.info('KubeSpan turned off: link, rules and nftables chains removed');
        }
        active = false;
        appliedRouted = undefined;
        continue;
      }
      if (wakeAt === undefined || ctx.clock.now() >= wakeAt) {
        ctx.requeueAfter(PEER_RECONCILE_INTERVAL_MS);
        wakeAt = ctx.clock.now() + PEER_RECONCILE_INTERVAL_MS;
      }
      const identity = ctx.find<KubeSpanIdentitySpec>({ namespace: NamespaceName.kubespan, type: KubeSpanIdentityType, id: KubeSpanLocalIdentityId });
      if (!identity) continue;
      active = true;
      const now = ctx.clock.now();
      const specs = ctx.list<KubeSpanPeerSpecSpec>({ namespace: NamespaceName.kubespan, type: KubeSpanPeerSpecType });
      const previous = new Map(ctx.list<KubeSpanPeerStatusSpec>(statusKind).map((r) => [r.metadata.id, r.spec]));
      const observed = await link.peers();
      const peers: WireGuardPeerConfig[] = [];
      const routed = new IpSet();
      for (const s of specs) {
        const id = s.metadata.id;
        const prev = previous.get(id);
        const seen = observed?.get(id);
        let rotation: PeerRotation = {
          endpoint: seen?.endpoint ?? prev?.endpoint ?? '',
          lastUsedEndpoint: prev?.lastUsedEndpoint ?? '',
          lastEndpointChangeMs: ms(prev?.lastEndpointChange ?? ZERO_TIME),
          lastHandshakeMs: seen ? seen.lastHandshakeMs : ms(prev?.lastHandshakeTime ?? ZERO_TIME),
        };
        let state = peerState(rotation, now);
        let endpoint: string | undefined;
        if (shouldChangeEndpoint(state, rotation)) {
          const next = pickNextEndpoint(rotation, s.spec.endpoints);
          if (next !== undefined) {
            ctx.logger.debug('updating endpoint for the peer', { peer: id, label: s.spec.label, endpoint: next });
            rotation = { ...rotation, endpoint: next, lastUsedEndpoint: next, lastEndpointChangeMs: now };
            state = 'unknown';
            endpoint = next;
          }
        }
        if (rotation.lastUsedEndpoint !== '' && (rotation.endpoint === '' || rotation.endpoint === rotation.lastUsedEndpoint)) {
          endpoint = rotation.lastUsedEndpoint;
          rotation = { ...rotation, endpoint: rotation.lastUsedEndpoint };
        }
        const status: KubeSpanPeerStatusSpec = {
          endpoint: rotation.endpoint,
          label: s.spec.label,
          state,
          receiveBytes: seen?.receiveBytes ?? prev?.receiveBytes ?? 0,
          transmitBytes: seen?.transmitBytes ?? prev?.transmitBytes ?? 0,
          lastHandshakeTime: iso(rotation.lastHandshakeMs),
          lastUsedEndpoint: rotation.lastUsedEndpoint,
          lastEndpointChange: iso(rotation.lastEndpointChangeMs),
        };
        ctx.modify<KubeSpanPeerStatusSpec>({ ...statusKind, id }, status, (d) => {
          d.spec = status;
        });
        peers.push({
          publicKey: id,
          ...(cfg.spec.sharedSecret ? { presharedKey: cfg.spec.sharedSecret } : {}),
          ...(endpoint ? { endpoint } : {}),
          persistentKeepaliveSeconds: KubeSpanKernel.keepaliveSeconds,
          allowedIPs: [...s.spec.allowedIPs],
          replaceAllowedIPs: true,
        });
        if (cfg.spec.forceRouting || state === 'up') {
          for (const p of s.spec.allowedIPs) {
            const r = parseRange(p);
            // The KubeSpan ULA itself is reached through the link's own address route, not marks.
            if (r && !isKubeSpanUla(r)) routed.add(r);
          }
        }
      }
      for (const id of previous.keys()) if (!specs.some((s) => s.metadata.id === id)) ctx.destroy({ ...statusKind, id });
      // Peers are updated in place and the gone ones removed by key, as upstream's diff does: replacing
      // the whole list would drop every session and counter on each reconcile (a handshake every 30 s).
      for (const id of observed?.keys() ?? []) if (!specs.some((s) => s.metadata.id === id)) peers.push({ publicKey: id, allowedIPs: [], remove: true });
      const mtu = cfg.spec.mtu || KubeSpanKernel.linkMtu;
      const routedKey = `${mtu} ${routed.prefixes().join(',')}`;
      if (routedKey !== appliedRouted) {
        firewall.apply(routed.ranges, mtu);
        appliedRouted = routedKey;
      }
      const device = {
        ifname: KubeSpanKernel.linkName,
        privateKey: identity.spec.privateKey,
        listenPort: KubeSpanKernel.port,
        firewallMark: KubeSpanKernel.firewallMark,
        replacePeers: false,
        peers: peers.sort((a, b) => (a.publicKey < b.publicKey ? -1 : 1)),
      };
      // The address carries the subnet's length, so the whole KubeSpan /64 is on-link.
      const address = `${identity.spec.address.split('/')[0]}/${identity.spec.subnet.split('/')[1] ?? '64'}`;
      await link.configure(device, { address, mtu });
    }
  }
}
