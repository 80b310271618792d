import { PhaseList } from './phases.ts';
import type { MachineRuntime } from './runtime.ts';
import { activateConfig, loadConfig } from './tasks/config.ts';
import { startMachined, stopAllServices } from './tasks/machined.ts';
import { startMaintenanceService, stopMaintenanceService } from './tasks/maintenance.ts';
import { reboot, shutdown } from './tasks/power.ts';
import { leaveEtcd, resetSystemDisk, sendResetSignal, wipeLabels } from './tasks/reset.ts';
import { install } from './tasks/install.ts';
import { startAllServices } from './tasks/services.ts';
import { writeInactiveSlot } from './tasks/upgrade.ts';
import { wipeEphemeralAtNextBoot } from './tasks/ephemeral.ts';

// The sequences of machined, named and ordered as upstream's v1alpha1 sequencer. A phase that
// upstream runs and that means nothing here yet is kept, marked skipped with the reason, so the log
// reads like upstream's and the place for its body is already there. To add a step, append a phase
// (or a task to a phase) in the builder below; tasks live in tasks/, one concern per file.

type Phases = PhaseList<MachineRuntime>;

/** No kubelet runs on Talos-TS nodes yet: cordon/drain and pod cleanup have nothing to act on. */
const noKubelet = 'no kubelet runs on this node yet';

/** A system volume named in a reset (upstream's ResetPartitionSpec). */
export interface ResetPartition {
  readonly label: string;
  readonly wipe: boolean;
}

/** What the API asks of a reset (upstream's ResetRequest, as far as it is implemented). */
export interface ResetOptions {
  readonly graceful: boolean;
  readonly reboot: boolean;
  /** Volumes to wipe by label; empty or absent: every system volume (STATE and EPHEMERAL). */
  readonly systemPartitionsToWipe?: readonly ResetPartition[];
  /** Upstream's USER_DISKS wipe mode: the system disk is left alone. */
  readonly userDisksOnly?: boolean;
}

/** Options of the reset sequence. */
export interface ResetRequest extends ResetOptions {
  /** Called once the reset will go ahead (after leaving etcd), so the API call can answer. */
  readonly accepted: () => void;
}

/** Options of a shutdown: `powerOff` is false when machined itself is being stopped (tests, container stop). */
export interface ShutdownRequest {
  readonly powerOff: boolean;
}

/**
 * Initialize: machined's runtime and API, then the stored config. Without one, the node serves the
 * maintenance API and this sequence ends; the config's arrival starts Install and Boot (upstream
 * waits inside its config phase instead; here maintenance mode holds no lock, so a reboot, reset or
 * shutdown asked meanwhile runs at once).
 */
export function initializeSequence(r: MachineRuntime): Phases {
  return new PhaseList<MachineRuntime>()
    .append('machined', startMachined)
    .append('config', loadConfig)
    .appendDeferred(() => r.cycle !== undefined && r.cycle.config === undefined, 'maintenance', startMaintenanceService);
}

/**
 * Install: writes the OS to the disk the config names (metal booted live only; a node booted from its
 * disk has nothing to install); container nodes have no install at all, as upstream.
 */
export function installSequence(r: MachineRuntime): Phases {
  const list = new PhaseList<MachineRuntime>();
  if (r.options.platform !== 'metal' || !r.cycle?.config?.config.config.machine?.install?.disk) return list;
  if (!r.options.onInstall) return list.appendSkipped('install', 'booted from the installed disk');
  return list.append('install', install);
}

/** Boot: leave maintenance mode if the config came that way, activate the config, start the services. */
export function bootSequence(r: MachineRuntime): Phases {
  return new PhaseList<MachineRuntime>()
    .appendDeferred(() => r.cycle?.maintenance !== undefined, 'maintenance', stopMaintenanceService)
    .append('config', activateConfig)
    .append('startEverything', startAllServices);
}

/** Reboot: stop everything, then restart the machine (metal) or the boot in-process (container). */
export function rebootSequence(): Phases {
  return new PhaseList<MachineRuntime>().appendSkipped('cleanup', noKubelet).append('stopEverything', stopAllServices).append('reboot', reboot);
}

/** Shutdown: stop everything, then power off. */
export function shutdownSequence(request: ShutdownRequest): Phases {
  return new PhaseList<MachineRuntime>()
    .appendSkipped('drain', noKubelet)
    .appendSkipped('cleanup', noKubelet)
    .append('stopEverything', stopAllServices)
    .appendWhen(request.powerOff, 'shutdown', shutdown);
}

/**
 * Reset: a graceful one drains (skipped) and leaves etcd; then everything stops, the state is wiped,
 * and the node reboots into maintenance mode or powers off.
 */
export function resetSequence(request: ResetRequest): Phases {
  const list = new PhaseList<MachineRuntime>();
  if (request.graceful) list.appendSkipped('drain', noKubelet).append('leave', leaveEtcd);
  return list
    .append('preReset', sendResetSignal(request.accepted))
    .append('stopEverything', stopAllServices)
    .append('reset', resetSystemDisk(wipeLabels(request)))
    .appendWhen(request.reboot, 'reboot', reboot)
    .appendWhen(!request.reboot, 'shutdown', shutdown);
}

/** What an upgrade sequence does on the disk: the new files are already fetched and verified. */
export interface UpgradeRequest {
  /** Writes the inactive slot and sets the one-shot boot to it (throws: nothing is rebooted). */
  readonly write: () => void;
  /**
   * Keep this node's data (upstream's --preserve; talosctl's default is false). Without it an
   * etcd member leaves the cluster before the slot is written, and EPHEMERAL is wiped at the
   * next boot, so the control plane comes back as a new member. Default true here.
   */
  readonly preserve?: boolean;
  /** The asking API call's signal: the slot is written once its reply left (see writeInactiveSlot). */
  readonly replied?: AbortSignal;
}

/**
 * Upgrade: upstream's order. The installer files were fetched and their digests checked, and on a
 * control plane etcd's health and the one-at-a-time claim were checked, before the sequence
 * started (a refusal fails the API call, nothing changed). Without --preserve an etcd member
 * leaves the cluster (refused, nothing written, when the rest could not keep quorum) and the
 * next boot gets a fresh EPHEMERAL.
 */
export function upgradeSequence(request: UpgradeRequest): Phases {
  const preserve = request.preserve ?? true;
  return new PhaseList<MachineRuntime>()
    .appendSkipped('drain', noKubelet)
    .appendSkipped('cleanup', noKubelet)
    .appendWhen(!preserve, 'leave', leaveEtcd)
    .append('upgrade', writeInactiveSlot(request.write, request.replied))
    .appendWhen(!preserve, 'ephemeral', wipeEphemeralAtNextBoot)
    .append('stopEverything', stopAllServices)
    .append('reboot', reboot);
}

/**
 * StageUpgrade: the image and options are in META already; stop everything and reboot, and the
 * upgrade runs at the next boot before anything else (upstream's StageUpgrade sequence).
 */
export function stageUpgradeSequence(): Phases {
  return new PhaseList<MachineRuntime>().appendSkipped('cleanup', noKubelet).append('stopEverything', stopAllServices).append('reboot', reboot);
}
