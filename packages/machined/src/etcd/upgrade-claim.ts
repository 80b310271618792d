import { Code, TalosError, sleepUnlessAborted } from '@talos-ts/cosi';
import type { EtcdClient } from './client.ts';

// The one-at-a-time rule for control-plane upgrades.
//
// Upstream locks an etcd mutex (`talos:v1:etcdUpgradeMutex`, on a 60 s session lease) only for the
// length of the Upgrade API call, around its health check: a second control plane asked a moment
// later finds the first still healthy (it has not rebooted yet) and goes ahead too. A lease alone
// cannot do better, since it dies with the reboot it is meant to cover. So here the upgrading node
// writes a CLAIM, a plain key without a lease naming it:
//
//   talos:v1:upgrade:claim = {"node","peerUrl","bootId","actorId","since"}
//
// * Taking it is a compare-and-create transaction (the key's create revision must be 0): that
//   transaction is the mutex; exactly one of several nodes asking at once gets it. The taker then
//   checks etcd's health (validateForUpgrade) while holding it, so no other upgrade can take a
//   member down between the check and its own reboot; when the check fails it gives the claim back.
// * It stays through the upgrade and the reboot. The node removes it itself once it runs again
//   (another boot: a different bootId) and etcd is healthy again with it as a voting member (after
//   --preserve=false it rejoins as a learner first, so that is when it has been promoted).
//   Removal compares the value, so it never deletes a newer claim.
// * If the upgrade fails before the reboot, the node gives the claim back at once (or, when it had
//   left etcd already, once it has rejoined).
// * Other nodes asked meanwhile wait, polling the key, bounded by their request's signal and a
//   timeout, and report progress; once the claim is gone they take it the same way. A claim whose
//   node never comes back ends their wait with DeadlineExceeded naming that node; --force skips
//   the guard and the claim.

/** The etcd key of the claim (under upstream's `talos:v1` root). */
export const UPGRADE_CLAIM_KEY = 'talos:v1:upgrade:claim';

/** Who holds the claim: an etcd member's node during one of its boots. */
export interface UpgradeClaimant {
  /** The node's name (its etcd member name, the hostname). */
  readonly node: string;
  /** Its etcd peer URL: stays the same across reboots and member re-creation. */
  readonly peerUrl: string;
  /** Differs on every boot of the node (machined cycle): tells "before the reboot" from "now". */
  readonly bootId: string;
}

/** The claim as stored in etcd. */
export interface UpgradeClaimRecord extends UpgradeClaimant {
  readonly actorId: string;
  /** When it was taken (ISO 8601). */
  readonly since: string;
}

/** What a waiter is told while another node holds the claim. */
export interface UpgradeClaimWait {
  readonly holder: UpgradeClaimRecord | undefined;
  /** Why it waits: the other node's claim, or etcd not healthy yet after that node released it. */
  readonly reason: string;
  readonly waitedMs: number;
}

/** Options of {@link acquireUpgradeClaim}. */
export interface AcquireUpgradeClaimOptions {
  readonly self: UpgradeClaimant;
  readonly actorId: string;
  /** The quorum guard, run while holding the claim; throws (FailedPrecondition) when etcd may not lose this member. */
  readonly validate: (signal: AbortSignal) => Promise<void>;
  /** How long to wait for another node's claim to go (default 30 min). */
  readonly timeoutMs?: number;
  /** Pause between looks at the claim (default 2 s). */
  readonly pollMs?: number;
  /** The request's signal: the caller giving up ends the wait (Canceled). */
  readonly signal?: AbortSignal;
  /** Progress while waiting, about once per poll when something changed. */
  readonly onWait?: (w: UpgradeClaimWait) => void;
  readonly now?: () => number;
}

/** A claim this node holds. */
export interface HeldUpgradeClaim {
  readonly record: UpgradeClaimRecord;
  /** Removes the claim if it is still this one; true when it did. */
  release(signal?: AbortSignal): Promise<boolean>;
}

/** Parses the stored claim; undefined for an absent or unreadable value (an unreadable one is reported by its raw text). */
export function parseUpgradeClaim(text: string | undefined): UpgradeClaimRecord | undefined {
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text) as Partial<UpgradeClaimRecord>;
    if (typeof v.node === 'string' && typeof v.peerUrl === 'string' && typeof v.bootId === 'string') {
      return { node: v.node, peerUrl: v.peerUrl, bootId: v.bootId, actorId: String(v.actorId ?? ''), since: String(v.since ?? '') };
    }
  } catch {
    // fall through
  }
  return { node: `unreadable claim ${JSON.stringify(text.slice(0, 80))}`, peerUrl: '', bootId: '', actorId: '', since: '' };
}

const describe = (c: UpgradeClaimRecord): string => `${c.node} (${c.peerUrl}) holds the etcd upgrade claim since ${c.since || 'an unknown time'}`;

/**
 * Takes the upgrade claim for this node: at once when nobody holds it and etcd is healthy; after
 * waiting when another node holds it (until it is released and etcd is healthy again). Refuses at
 * once (the guard's FailedPrecondition) when nobody holds it and etcd is unhealthy; a second
 * upgrade of this node in the same boot is FailedPrecondition too. A wait that outlasts the
 * timeout is DeadlineExceeded naming the holder; the request's signal ends it as Canceled.
 */
export async function acquireUpgradeClaim(client: EtcdClient, options: AcquireUpgradeClaimOptions): Promise<HeldUpgradeClaim> {
  const now = options.now ?? Date.now;
  const t0 = now();
  const timeoutMs = options.timeoutMs ?? 30 * 60_000;
  const pollMs = options.pollMs ?? 2000;
  const signal = options.signal ?? new AbortController().signal;
  let waited = false;
  let lastReason = '';
  let lastHolder: UpgradeClaimRecord | undefined;
  let unreachable = 0;
  for (;;) {
    let raw: string | undefined;
    let reason: string | undefined;
    try {
      raw = await client.get(UPGRADE_CLAIM_KEY, signal);
      unreachable = 0;
    } catch (err) {
      if (signal.aborted) throw new TalosError(Code.Canceled, 'upgrade canceled', { cause: err });
      // A leader election answers "leader changed" for a moment: a few tries before refusing; once
      // waiting, etcd not answering is one more reason to wait.
      if (!waited && ++unreachable >= 3) throw new TalosError(Code.FailedPrecondition, `upgrade: etcd does not answer (--force skips the check): ${TalosError.from(err).message}`, { cause: err });
      reason = `etcd does not answer: ${TalosError.from(err).message}`;
    }
    const holder = reason === undefined ? parseUpgradeClaim(raw) : undefined;
    if (holder && holder.peerUrl === options.self.peerUrl && holder.bootId === options.self.bootId) {
      throw new TalosError(Code.FailedPrecondition, `an upgrade of this node is already under way (actor ${holder.actorId}, since ${holder.since})`);
    }
    if (reason !== undefined) {
      // not read: try again after the pause
    } else if (holder && holder.peerUrl !== options.self.peerUrl) {
      reason = describe(holder);
      lastHolder = holder;
    } else {
      // Free, or a claim of this node left from an earlier boot (it is back, and asked again).
      const record: UpgradeClaimRecord = { ...options.self, actorId: options.actorId, since: new Date(now()).toISOString() };
      const value = JSON.stringify(record);
      const taken = raw === undefined ? await client.createIfAbsent(UPGRADE_CLAIM_KEY, value, 0n, signal) : await replace(client, raw, value, signal);
      if (taken) {
        const held: HeldUpgradeClaim = { record, release: (s) => client.deleteIfValue(UPGRADE_CLAIM_KEY, value, s) };
        try {
          await options.validate(signal);
          return held;
        } catch (err) {
          await held.release().catch(() => false);
          // Asked while nobody upgraded: refuse now. After waiting on another node: its member
          // may still be catching up, so keep waiting (within the timeout) for etcd to recover.
          if (!waited || signal.aborted) throw err;
          reason = `etcd is not healthy yet: ${TalosError.from(err).message}`;
        }
      } else {
        reason = 'another node took the claim first';
      }
    }
    if (unreachable === 0) waited = true;
    lastReason = reason;
    const waitedMs = now() - t0;
    if (waitedMs >= timeoutMs) {
      throw new TalosError(
        Code.DeadlineExceeded,
        `gave up after ${Math.round(waitedMs / 1000)} s waiting to upgrade: ${lastReason}${lastHolder && lastReason === describe(lastHolder) ? '; if that node will not come back, remove its member and upgrade with --force' : ''}`,
        { details: { holder: lastHolder } },
      );
    }
    options.onWait?.({ holder: lastHolder, reason, waitedMs });
    if (!(await sleepUnlessAborted(Math.min(pollMs, Math.max(1, timeoutMs - waitedMs)), signal))) {
      throw new TalosError(Code.Canceled, `upgrade canceled while waiting: ${lastReason}`);
    }
  }
}

// Replaces a claim this node left in an earlier boot, only if it is still that exact value.
async function replace(client: EtcdClient, old: string, value: string, signal: AbortSignal): Promise<boolean> {
  if (!(await client.deleteIfValue(UPGRADE_CLAIM_KEY, old, signal))) return false;
  return client.createIfAbsent(UPGRADE_CLAIM_KEY, value, 0n, signal);
}

/** Options of {@link releaseUpgradeClaimWhenHealthy}. */
export interface ReleaseUpgradeClaimOptions {
  /** Which claim is this node's to remove (e.g. same peer URL and another boot). */
  readonly mine: (claim: UpgradeClaimRecord) => boolean;
  /** Throws while etcd is not healthy with this node back in it (validateForUpgrade). */
  readonly healthy: (signal: AbortSignal) => Promise<void>;
  readonly signal: AbortSignal;
  /** Pause between attempts (default 2 s). */
  readonly pollMs?: number;
  readonly onReleased?: (claim: UpgradeClaimRecord) => void;
}

/**
 * Removes this node's claim once etcd is healthy with it again; returns the removed claim, or
 * undefined when there was none of this node's (or the signal ended the wait: the next etcd start
 * tries again). Errors reaching etcd are retried, bounded by the signal.
 */
export async function releaseUpgradeClaimWhenHealthy(client: EtcdClient, options: ReleaseUpgradeClaimOptions): Promise<UpgradeClaimRecord | undefined> {
  const pollMs = options.pollMs ?? 2000;
  while (!options.signal.aborted) {
    try {
      const raw = await client.get(UPGRADE_CLAIM_KEY, options.signal);
      const claim = parseUpgradeClaim(raw);
      if (!claim || raw === undefined || !options.mine(claim)) return undefined;
      await options.healthy(options.signal);
      if (await client.deleteIfValue(UPGRADE_CLAIM_KEY, raw, options.signal)) {
        options.onReleased?.(claim);
        return claim;
      }
    } catch {
      // not healthy or not reachable yet: try again
    }
    if (!(await sleepUnlessAborted(pollMs, options.signal))) break;
  }
  return undefined;
}
