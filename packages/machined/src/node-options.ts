import type { Logger } from '@talos-ts/cosi';
import type { ControlPlanePeerSource } from './etcd/peers.ts';
import type { CheckedConfig } from './sequencer/apply.ts';

/** Options of {@link TalosNode}. */
export interface NodeOptions {
  readonly platform: 'container' | 'metal';
  readonly stateDir: string;
  /** The node's address; apid and trustd listen on it. */
  readonly address: string;
  readonly logger?: Logger;
  /** API certificate lifetime (default 24 h); tests shorten it to watch rotation. */
  readonly apiCertLifetimeMs?: number;
  /** Restart interval of services (default 5 s as upstream). */
  readonly restartIntervalMs?: number;
  /** argv prefix starting apid and trustd; defaults to this checkout's bins under the same Node. */
  readonly apidCommand?: readonly string[];
  readonly trustdCommand?: readonly string[];
  /**
   * Starts apid's process at boot rather than once its certificates exist; it waits for them itself.
   * Under emulation its Node start-up (seconds) then overlaps the certificate issuance (metal sets it).
   */
  readonly prestartApid?: boolean;
  /** Node/V8 flags for the Node programs machined starts (metal passes its own, e.g. from talos.node.flags=). */
  readonly nodeFlags?: readonly string[];
  /** The etcd binary for control-plane nodes (default `etcd` on PATH) and etcdctl (snapshot restore). */
  readonly etcdPath?: string;
  readonly etcdctlPath?: string;
  /** etcd certificate lifetime (default 24 h, renewed at half-life). */
  readonly etcdCertLifetimeMs?: number;
  /** Where a joining control plane looks for etcd members; defaults to discovery Members + the endpoint host. */
  readonly etcdPeers?: ControlPlanePeerSource;
  /** Called once the machine has powered off (shutdown, or reset without reboot). */
  readonly onPowerOff?: () => void;
  /**
   * TTL of the affiliate data published to the discovery service (default 30 min as upstream);
   * tests shorten it to watch a dead node expire. machined reads TALOSTS_DISCOVERY_TTL_MS.
   */
  readonly discoveryTtlMs?: number;
  /** The hostname before the config names one (metal: talos.hostname= or ip=); default talos-<address>. */
  readonly defaultHostname?: string;
  /** containerd as a system service (metal; container mode with --containerd): its program and socket. */
  readonly containerd?: { readonly argv: readonly string[]; readonly socket: string };
  /** Restarts the machine after teardown (metal); without it a reboot re-runs the boot in-process. */
  readonly onReboot?: () => void;
  /** Flips the default A/B boot slot before a rollback's reboot (metal booted from disk); throws when it cannot. */
  readonly rollbackBoot?: () => void;
  /**
   * Writes the inactive A/B slot from fetched files and tries it once (metal booted from disk):
   * the slot boots with `cmdline`, and grubenv remembers `version` until the next boot settles it.
   */
  readonly upgradeBoot?: (assets: { kernel: string; initramfs: string; rootfsCpio: string; cmdline: readonly string[]; version: string }) => void;
  /**
   * Throws (FailedPrecondition) when those files would not fit in the inactive slot; writes nothing.
   * Asked before the upgrade sequence starts, so a full BOOT fails the API call, not a half-done upgrade.
   */
  readonly checkUpgradeBoot?: (assets: { kernel: string; initramfs: string; rootfsCpio: string; cmdline: readonly string[]; version: string }) => void;
  /**
   * The public key (PEM) the running image trusts for installers (metal: the one in its root);
   * an upgrade whose manifest another key signed is refused. Unset or undefined: none is accepted.
   */
  readonly trustedImageKey?: () => string | undefined;
  /**
   * machined owns the network namespace it runs in, so the network controllers may change links,
   * addresses and routes there (always so on metal; off by default in container mode, which only reads).
   */
  readonly ownsNetwork?: boolean;
  /** The network namespace the network controllers work in (a `/run/netns/<name>` file); default machined's own. */
  readonly netnsPath?: string;
  /**
   * The install step of the boot (metal, booted live): installs to `machine.install.disk` when
   * needed; true when it did and the machine is restarting into the disk.
   */
  readonly onInstall?: (checked: CheckedConfig) => Promise<boolean>;
  /**
   * Container mode with ownsNetwork: the kernel command line the node stands in for (its `ip=`
   * settings feed the cmdline network config layer, as on a VM). Metal reads /proc/cmdline.
   */
  readonly cmdline?: string;
  /** The META partition's device (metal booted from its disk); without it META lives in memory only. */
  readonly metaPartition?: string;
  /**
   * Removes a system volume's filesystem (STATE, EPHEMERAL) for a reset, so the next boot formats
   * it anew (metal booted from its disk); returns the device wiped.
   */
  readonly wipeSystemVolume?: (label: string) => string;
}
