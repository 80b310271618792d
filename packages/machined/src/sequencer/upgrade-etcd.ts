import { Code, TalosError } from '@talos-ts/cosi';
import { machinePb } from '@talos-ts/machinery';
import { ETCD_SERVICE_ID } from '../etcd/etcd.ts';
import { acquireUpgradeClaim, releaseUpgradeClaimWhenHealthy, type HeldUpgradeClaim } from '../etcd/upgrade-claim.ts';
import { validateForUpgrade } from '../etcd/upgrade-guard.ts';
import { machineEvents } from '../events/machine-events.ts';
import type { MachineRuntime } from './runtime.ts';

const Stage = machinePb.MachineStatusEvent_MachineStage;

/** Options of {@link claimEtcdForUpgrade}: upstream's UpgradeRequest flags and the request's signal. */
export interface EtcdUpgradeOptions {
  readonly preserve: boolean;
  readonly force: boolean;
  readonly actorId: string;
  /** The API request's signal: the client giving up ends a wait. */
  readonly signal: AbortSignal;
  /** Bound of the wait for another control plane's upgrade (default 30 min). */
  readonly timeoutMs?: number;
  readonly pollMs?: number;
}

/** Whether the active config makes this node a control plane. */
export function isControlPlane(r: MachineRuntime): boolean {
  return ['controlplane', 'init'].includes(r.cycle?.config?.config.config.machine?.type ?? '');
}

/**
 * The etcd side of an Upgrade call, before its sequence starts: on a control plane that is an etcd
 * member, takes the one-at-a-time upgrade claim (waiting while another control plane holds it,
 * with MachineStatusEvent progress) and checks that etcd can lose this member; resolves with the
 * held claim, which the caller gives back if the upgrade does not go ahead. Workers, --force and
 * nodes that are not members yet skip it (undefined). Unlike upstream, --preserve does not skip
 * it: the member is down for the reboot either way.
 */
export async function claimEtcdForUpgrade(r: MachineRuntime, o: EtcdUpgradeOptions): Promise<HeldUpgradeClaim | undefined> {
  const etcd = r.cycle?.etcd;
  if (!isControlPlane(r) || !etcd) return undefined;
  const logger = r.logger.child({ component: 'upgrade' });
  if (o.force) {
    logger.warn('upgrade forced: etcd health and the one-at-a-time claim are not checked', { actorId: o.actorId });
    return undefined;
  }
  if (!(await etcd.hasData())) return undefined;
  let client;
  let tls;
  try {
    tls = await etcd.tls();
    client = await etcd.client();
  } catch (err) {
    throw new TalosError(Code.FailedPrecondition, `upgrade: cannot reach etcd to check it (--force skips the check): ${TalosError.from(err).message}`, { cause: err });
  }
  using c = client;
  let reported = '';
  const claim = await acquireUpgradeClaim(c, {
    self: etcd.upgradeClaimant(),
    actorId: o.actorId,
    validate: (signal) => validateForUpgrade(c, { tls, preserve: o.preserve, signal }),
    signal: o.signal,
    ...(o.timeoutMs !== undefined ? { timeoutMs: o.timeoutMs } : {}),
    ...(o.pollMs !== undefined ? { pollMs: o.pollMs } : {}),
    onWait: (w) => {
      if (w.reason === reported) return;
      reported = w.reason;
      logger.info('upgrade waits for another control plane', { reason: w.reason, waitedMs: w.waitedMs });
      r.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.UPGRADING, false, [{ name: 'etcdUpgradeClaim', reason: `waiting: ${w.reason}` }]));
    },
  }).catch((err: unknown) => {
    // A wait that ends without the upgrade: the machine is running as before, say so again.
    if (reported !== '') r.events.publish('machine.MachineStatusEvent', machineEvents.machineStatus(Stage.RUNNING, true));
    throw err;
  });
  logger.info('etcd upgrade claim taken', { actorId: o.actorId });
  return claim;
}

/**
 * Gives the claim back after an upgrade that failed before its reboot. When the sequence had left
 * etcd already, etcd starts again (it joins as a new member) and the claim goes once the cluster
 * is healthy with it, bounded by `signal` (the node's cycle).
 */
export async function returnEtcdClaim(r: MachineRuntime, claim: HeldUpgradeClaim, signal: AbortSignal): Promise<void> {
  const etcd = r.cycle?.etcd;
  const supervisor = r.cycle?.supervisor;
  const logger = r.logger.child({ component: 'upgrade' });
  try {
    if (!etcd || !supervisor || (await etcd.hasData())) {
      await claim.release(signal);
      logger.info('upgrade did not go ahead: etcd upgrade claim released', { actorId: claim.record.actorId });
      return;
    }
    logger.warn('upgrade failed after leaving etcd: rejoining before releasing the upgrade claim', { actorId: claim.record.actorId });
    supervisor.start(ETCD_SERVICE_ID);
    using c = await etcd.client();
    const tls = await etcd.tls();
    await releaseUpgradeClaimWhenHealthy(c, {
      mine: (cl) => cl.actorId === claim.record.actorId && cl.peerUrl === claim.record.peerUrl,
      healthy: (s) => validateForUpgrade(c, { tls, preserve: true, signal: s }),
      signal,
    });
  } catch (err) {
    logger.error('could not release the etcd upgrade claim', { error: TalosError.from(err).message });
  }
}
