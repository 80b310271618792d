import { Code, TalosError, sleepUnlessAborted } from '@talos-ts/cosi';
import { EtcdClient, hostPort, memberIdHex, type EtcdTls } from './client.ts';

/** Options of {@link validateForUpgrade}. */
export interface UpgradeGuardOptions {
  readonly tls: EtcdTls;
  /**
   * The upgrade keeps this member's data (`--preserve`). Without it the member leaves the cluster
   * first, which a single-member cluster cannot do.
   */
  readonly preserve: boolean;
  /** Deadline of each member's quorum read (default 3 s). */
  readonly memberTimeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** One reason the cluster may not lose a member now. */
export interface UpgradeGuardProblem {
  /** The member's name, or its id in hex when it never started. */
  readonly member: string;
  readonly reason: string;
}

/**
 * The quorum guard of a control-plane upgrade, as upstream's ValidateForUpgrade: every member must
 * be started and answer a quorum read through its own client URL, and a two-member cluster is
 * refused outright (one down leaves one of two: no quorum). A member that is still a learner
 * counts as not ready (it does not vote yet, and etcd refuses it linearizable reads). Upstream
 * stops at the first bad member; this names them all. A single member passes (upstream's rule),
 * but only with `preserve`: it cannot leave a cluster it is alone in.
 *
 * Throws FailedPrecondition naming the members at fault (details.problems); resolves when the
 * cluster can lose this member for the length of a reboot.
 */
export async function validateForUpgrade(client: EtcdClient, options: UpgradeGuardOptions): Promise<void> {
  const members = await client.memberList(options.signal);
  const problems: UpgradeGuardProblem[] = [];
  if (members.length === 2) {
    problems.push({ member: '*', reason: 'the cluster has 2 members: with one of them down it has no quorum' });
  }
  if (members.length === 1 && !options.preserve) {
    problems.push({ member: members[0]?.name || '*', reason: 'it is the only member and cannot leave the cluster; upgrade with --preserve' });
  }
  const checks = members.map(async (m): Promise<UpgradeGuardProblem | undefined> => {
    const id = m.name || memberIdHex(m.ID);
    if (m.name === '') return { member: id, reason: `not started (peer ${m.peerURLs.join(',')})` };
    if (m.isLearner) return { member: id, reason: 'still a learner (not promoted to a voting member yet)' };
    const url = m.clientURLs[0];
    if (!url) return { member: id, reason: 'advertises no client URL' };
    using one = new EtcdClient({ endpoints: [hostPort(url)], tls: options.tls, timeoutMs: options.memberTimeoutMs ?? 3000 });
    // A linearizable read goes through consensus: it answers only while this member is part of
    // a quorum, which is what the upgrade must not break (upstream reads a key the same way). An
    // election in progress answers "leader changed" for a moment, so a failure is tried again
    // twice, a short pause apart, before it counts.
    let last: unknown;
    for (let attempt = 0; attempt < 3; attempt++) {
      if (attempt > 0 && !(await sleepUnlessAborted(300, options.signal ?? new AbortController().signal))) break;
      try {
        await one.get('health', options.signal);
        return undefined;
      } catch (err) {
        last = err;
      }
    }
    return { member: id, reason: `not healthy (${url}): ${TalosError.from(last).message}` };
  });
  for (const p of await Promise.all(checks)) if (p) problems.push(p);
  if (problems.length === 0) return;
  throw new TalosError(
    Code.FailedPrecondition,
    `etcd cannot lose this member for an upgrade (--force skips this check, at the risk of losing quorum): ${problems.map((p) => `${p.member}: ${p.reason}`).join('; ')}`,
    { details: { problems } },
  );
}
