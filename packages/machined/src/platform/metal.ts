import type { Logger } from '@talos-ts/cosi';
import { Code, TalosError } from '@talos-ts/cosi';
import type { BootSlot, GptLayout, UpgradeAttempt } from '@talos-ts/machinery';
import { checkUpgradeBootFits, markBootGood, rollbackBoot, upgradeBoot, type SlotAssets } from '../linux/bootloader.ts';
import { readTrustedImageKey } from '../linux/image-key.ts';
import { diskSizeBytes } from '../linux/disk.ts';
import { prepareMetal, reapOrphans, machineReset, residentMemory, type MetalBoot } from '../linux/metal.ts';
import type { CheckedConfig } from '../sequencer/apply.ts';
import { installFromConfig } from '../sequencer/install.ts';

/** Seconds since the kernel started, for the console's boot timeline. */
export { bootUptimeSeconds } from '../linux/metal.ts';

/** Facts of the metal platform: machined is PID 1 on a real kernel, booted from the SquashFS image. */
export const metalPlatform = { name: 'metal', mode: 'metal' } as const;

/** Where a metal node keeps its state: tmpfs under /system until an install disk exists. */
export const METAL_STATE_DIR = '/system/state';

/**
 * The system containerd's socket on metal. An install from the live image pulls through it when it
 * is up; in this node containerd starts with the services after the install (upstream starts it in
 * its early services), so that pull says it falls back to the direct one.
 */
export const METAL_CONTAINERD_SOCKET = '/system/run/containerd/containerd.sock';

/** How long a fatal error stays on the console before the machine restarts. */
export const FATAL_REBOOT_DELAY_MS = 10_000;

/** The host side of a metal boot, for main.ts: preparation, orphan reaping and power actions. */
export interface MetalHost {
  readonly boot: MetalBoot;
  /** Fetches `talos.config=` (http/https URL); undefined when the argument is absent. */
  fetchConfig(signal: AbortSignal): Promise<string | undefined>;
  /** Starts reaping orphans every `intervalMs`; the returned function stops it. */
  startReaper(intervalMs?: number): () => void;
  /** Logs the resident memory of machined and its services every `intervalMs` (a figure for benchmarks). */
  startMemoryReport(intervalMs?: number): () => void;
  restart(): void;
  powerOff(): void;
  /**
   * The install step (booted live only; undefined when booted from an installed disk): installs as
   * `machine.install` says and restarts into the disk; false when there was nothing to install or
   * the install failed (the node then keeps running live, and says why on the console).
   */
  readonly install?: (checked: CheckedConfig) => Promise<boolean>;
  /**
   * Booted from an installed disk: makes the running slot (`talos.slot=`) grubenv's default once
   * machined is up, so a slot tried once stays. Returns the slot and how a pending upgrade ended;
   * undefined when not booted from disk or on error (logged, not thrown).
   */
  markBootGood(): { slot: BootSlot; attempt?: UpgradeAttempt } | undefined;
  /** The public key the running image trusts for installers (its root's); undefined when it has none. */
  trustedImageKey(): string | undefined;
  /**
   * Makes the slot not booted now grubenv's default (talosctl rollback); throws FailedPrecondition
   * when the node did not boot from an installed disk or that slot has no kernel.
   */
  rollbackBoot(): void;
  /** Writes the inactive slot from files on this host and tries it once at the next boot (upgrade). */
  upgradeBoot(assets: SlotAssets): void;
  /** Throws FailedPrecondition when an upgrade's files would not fit in BOOT beside the running slot; writes nothing. */
  checkUpgradeBoot(assets: SlotAssets): void;
}

/** The install disk, its layout and the A/B slot a metal boot came from. */
type BootedDisk = { readonly disk: string; readonly layout: GptLayout; readonly slot: BootSlot };

/** Prepares the machine (mounts, modules, sysctls, network) and returns its host operations. */
export function startMetal(logger: Logger): MetalHost {
  const boot = prepareMetal(logger);
  // The disk and slot this boot came from; undefined on a live boot (no install disk, no slot).
  const installed = (): BootedDisk | undefined => {
    const slot = boot.args.get('talos.slot');
    if (!boot.systemDisk || (slot !== 'A' && slot !== 'B')) return undefined;
    return { disk: boot.systemDisk.disk, layout: boot.systemDisk.layout, slot };
  };
  const installedOr = (what: string): BootedDisk => {
    const on = installed();
    if (!on) throw new TalosError(Code.FailedPrecondition, `${what}: the node did not boot from an installed disk`);
    return on;
  };
  return {
    boot,
    async fetchConfig(signal) {
      const url = boot.args.get('talos.config');
      if (!url) return undefined;
      for (let attempt = 1; ; attempt++) {
        try {
          const res = await fetch(url, { signal });
          if (!res.ok) throw new Error(`HTTP ${res.status}`);
          return await res.text();
        } catch (err) {
          if (signal.aborted || attempt >= 10) throw new Error(`talos.config=${url}: ${(err as Error).message}`);
          logger.warn('fetching talos.config failed; retrying', { url, attempt, error: (err as Error).message });
          await new Promise((r) => setTimeout(r, 2000));
        }
      }
    },
    startReaper(intervalMs = 1000) {
      const timer = setInterval(() => reapOrphans(), intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    startMemoryReport(intervalMs = 30_000) {
      const timer = setInterval(() => logger.info('resident memory', { bytes: residentMemory() }), intervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
    restart: () => machineReset('restart'),
    powerOff: () => machineReset('poweroff'),
    markBootGood() {
      const on = installed();
      if (!on) return undefined;
      const { slot } = on;
      try {
        const settled = markBootGood({ ...on, logger });
        return { slot, ...(settled.attempt ? { attempt: settled.attempt } : {}) };
      } catch (err) {
        logger.error('could not mark the boot good', { slot, error: (err as Error).message });
        return undefined;
      }
    },
    trustedImageKey: () => readTrustedImageKey(),
    rollbackBoot() {
      rollbackBoot({ ...installedOr('rollback'), logger });
    },
    upgradeBoot(assets) {
      upgradeBoot({ ...installedOr('upgrade'), assets, logger });
    },
    checkUpgradeBoot(assets) {
      checkUpgradeBootFits({ ...installedOr('upgrade'), assets });
    },
    ...(boot.systemDisk
      ? {}
      : {
          install: async (checked: CheckedConfig) => {
            try {
              const r = await installFromConfig({
                install: checked.config.config.machine?.install ?? {},
                configYaml: checked.yaml,
                ...(checked.config.config.machine?.registries?.mirrors ? { mirrors: checked.config.config.machine.registries.mirrors } : {}),
                containerdSocket: METAL_CONTAINERD_SOCKET,
                workDir: '/var/system/install',
                diskSizeBytes: (disk) => diskSizeBytes(disk.replace(/^\/dev\//, '')),
                trustedKeyPem: readTrustedImageKey(),
                logger,
              });
              if (!r?.installed) return false;
              logger.info('installed to disk; restarting into it', { disk: checked.config.config.machine?.install?.disk ?? '' });
              machineReset('restart');
              return true;
            } catch (err) {
              logger.error('install failed; running on the live image', { error: (err as Error).message });
              return false;
            }
          },
        }),
  };
}
