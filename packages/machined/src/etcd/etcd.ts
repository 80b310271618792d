import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { X509Certificate, createPrivateKey, randomUUID } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { Code, TalosError, type Logger, sleepUnlessAborted } from '@talos-ts/cosi';
import { CertFiles, type EtcdSpecSpec, type etcdPb } from '@talos-ts/machinery';
import { restoreEtcdSnapshot } from '../linux/etcdctl.ts';
import { createProcessRunner } from '../linux/process.ts';
import { writeFileAtomic } from '../system/atomic-file.ts';
import { ServiceState } from '../system/events.ts';
import type { RunContext, RunOutcome, Runner } from '../system/runner.ts';
import { allOf } from '../system/network-ready.ts';
import { fileExists, type ServiceCondition, type ServiceDefinition } from '../system/service.ts';
import type { ServiceSupervisor } from '../system/supervisor.ts';
import { ETCD_CLIENT_PORT, ETCD_PEER_PORT, EtcdClient, hostPort, memberIdHex, type EtcdMember, type EtcdTls } from './client.ts';
import type { ControlPlanePeerSource } from './peers.ts';
import { releaseUpgradeClaimWhenHealthy, type UpgradeClaimant } from './upgrade-claim.ts';
import { validateForUpgrade } from './upgrade-guard.ts';

/** The supervised service's id. */
export const ETCD_SERVICE_ID = 'etcd';

/** Options of {@link EtcdManager}. */
export interface EtcdManagerOptions {
  /**
   * The member's name and addresses (EtcdSpec), read at each start and by every API call; undefined
   * until the node has an address to advertise (the service waits for it).
   */
  readonly spec: () => EtcdSpecSpec | undefined;
  readonly certsDir: string;
  readonly dataDir: string;
  /** Where EtcdRecover stores an uploaded snapshot. */
  readonly recoverSnapshotPath: string;
  readonly peers: ControlPlanePeerSource;
  readonly supervisor: () => ServiceSupervisor | undefined;
  readonly logger: Logger;
  /** The etcd binary (default `etcd` on PATH). */
  readonly etcdPath?: string;
  readonly etcdctlPath?: string;
  /** Pause between attempts to find a member to join (default 2 s). */
  readonly joinRetryMs?: number;
}

/** Mode the next etcd start runs in, decided from the data directory and Bootstrap. */
interface Plan {
  readonly mode: 'existing' | 'new' | 'join';
  readonly initialCluster: string;
  /** Client endpoints (`host:port`) of other members, for promotion. */
  readonly peers: readonly string[];
}


const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/**
 * The local etcd member of a control-plane node: decides how etcd starts (first member after
 * Bootstrap, joining an existing cluster as a learner, or restarting from its data directory),
 * supervises the real etcd binary, and answers the etcd parts of the machine API.
 *
 * Joining follows etcd's learner protocol: MemberAdd(isLearner) through a running member, start
 * with `--initial-cluster-state existing`, then MemberPromote once etcd reports the learner in sync
 * (it refuses earlier, so the promote loop simply retries).
 */
export class EtcdManager {
  readonly #o: EtcdManagerOptions;
  /** One per manager, so per boot of the node: the upgrade claim tells its boots apart by it. */
  readonly bootId = randomUUID();
  #bootstrapRequested = false;
  #recover: { skipHashCheck: boolean } | undefined;

  constructor(options: EtcdManagerOptions) {
    this.#o = options;
  }

  #spec(): EtcdSpecSpec {
    const spec = this.#o.spec();
    if (!spec) throw new TalosError(Code.FailedPrecondition, 'etcd has no address to advertise yet');
    return spec;
  }

  /** This member's peer URLs (one per advertised address). */
  get peerUrls(): string[] {
    return urls(this.#spec().advertisedAddresses, ETCD_PEER_PORT);
  }

  /** This member's client URLs, as it advertises them. */
  get clientUrls(): string[] {
    return urls(this.#spec().advertisedAddresses, ETCD_CLIENT_PORT);
  }

  /**
   * Where machined reaches the local member: loopback when etcd listens there (everywhere, or
   * loopback plus the listen subnets), else its first listen address.
   */
  get localEndpoint(): string {
    const listen = this.#spec().listenClientAddresses;
    const local = listen.some((a) => a === '0.0.0.0' || a === '::' || a === '127.0.0.1') ? '127.0.0.1' : (listen[0] ?? '127.0.0.1');
    return `${hostOf(local)}:${ETCD_CLIENT_PORT}`;
  }

  /** Whether an etcd member is this node's (by its peer URLs). */
  #isMine(m: EtcdMember): boolean {
    const mine = this.peerUrls;
    return m.peerURLs.some((u) => mine.includes(u));
  }

  /** The service definition of etcd (control-plane nodes only). */
  definition(): ServiceDefinition {
    return {
      id: ETCD_SERVICE_ID,
      condition: allOf(fileExists(join(this.#o.certsDir, CertFiles.serverCrt)), this.#specExists()),
      runner: () => new EtcdRunner(this),
      healthCheck: { check: (signal) => this.#healthy(signal), initialDelayMs: 500, periodMs: 2000, timeoutMs: 3000 },
    };
  }

  // Polled like the certificate file: the spec appears once, early, and rarely changes afterwards.
  #specExists(): ServiceCondition {
    return {
      description: 'etcd spec (an address to advertise)',
      wait: async (signal) => {
        while (!this.#o.spec()) {
          if (!(await sleepUnlessAborted(100, signal))) throw signal.reason ?? new Error('aborted');
        }
      },
    };
  }

  /** True when the data directory holds anything (etcd has run here before). */
  async hasData(): Promise<boolean> {
    const entries = await readdir(this.#o.dataDir).catch(() => []);
    return entries.length > 0;
  }

  /** Reads the admin client pair etcd trusts; FailedPrecondition before the certificates exist. */
  async tls(): Promise<EtcdTls> {
    const read = (n: string): Promise<string> => readFile(join(this.#o.certsDir, n), 'utf8');
    // The certificate and its key are two files, each replaced atomically but not together: a read
    // between the two renames gets a pair that does not match, so it is read again (a few times).
    for (let attempt = 0; attempt < 5; attempt++) {
      let tls: EtcdTls;
      try {
        const [ca, crt, key] = await Promise.all([read(CertFiles.ca), read('admin.crt'), read('admin.key')]);
        tls = { ca, crt, key };
      } catch {
        throw new TalosError(Code.FailedPrecondition, 'etcd certificates are not ready yet');
      }
      if (pairMatches(tls)) return tls;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new TalosError(Code.Unavailable, 'etcd client certificate and key do not match (they are being replaced); try again');
  }

  /** A client of the local member (optionally falling back to other endpoints). */
  async client(more: readonly string[] = []): Promise<EtcdClient> {
    return new EtcdClient({ endpoints: [...new Set([this.localEndpoint, ...more])], tls: await this.tls() });
  }

  async #healthy(signal: AbortSignal): Promise<void> {
    using c = await this.client();
    const s = await c.status({ endpoint: c.endpoints[0] as string, signal });
    if (s.errors.length > 0) throw new Error(`etcd reports: ${s.errors.join('; ')}`);
    if (s.leader === 0n) throw new Error('etcd has no leader');
  }

  // ---------------------------------------------------------------- starting etcd

  /** Decides how the next run starts; waits (retrying) until a member to join is found. */
  async plan(signal: AbortSignal, ctx: RunContext): Promise<Plan> {
    const name = this.#spec().name;
    const self = this.peerUrls.map((u) => `${name}=${u}`).join(',');
    if (this.#recover && !(await this.hasData())) {
      const { skipHashCheck } = this.#recover;
      ctx.event(ServiceState.Preparing, 'Restoring etcd from the uploaded snapshot');
      await mkdir(join(this.#o.dataDir, '..'), { recursive: true });
      await restoreEtcdSnapshot({
        etcdctlPath: this.#o.etcdctlPath ?? 'etcdctl',
        snapshotPath: this.#o.recoverSnapshotPath,
        dataDir: this.#o.dataDir,
        name,
        peerUrl: this.peerUrls[0] as string,
        skipHashCheck,
        signal,
      });
      this.#recover = undefined;
      await rm(this.#o.recoverSnapshotPath, { force: true });
    }
    if (await this.hasData()) {
      const peers = (await this.#o.peers(signal).catch(() => [])).map((p) => `${p}:${ETCD_CLIENT_PORT}`);
      return { mode: 'existing', initialCluster: self, peers };
    }
    if (this.#bootstrapRequested) return { mode: 'new', initialCluster: self, peers: [] };
    ctx.event(ServiceState.Preparing, 'Waiting for an etcd member to join (or for bootstrap)');
    let logged = '';
    for (;;) {
      const peers = await this.#o.peers(signal).catch(() => []);
      for (const peer of peers) {
        try {
          return await this.#join(peer, name, signal);
        } catch (err) {
          if (signal.aborted) throw err;
          const m = `joining through ${peer} failed: ${messageOf(err)}`;
          if (m !== logged) this.#o.logger.info(m);
          logged = m;
        }
      }
      if (peers.length === 0 && logged !== 'none') {
        this.#o.logger.info('no control-plane peers known yet; waiting for bootstrap or a peer');
        logged = 'none';
      }
      if (!(await sleepUnlessAborted(this.#o.joinRetryMs ?? 2000, signal))) throw signal.reason ?? new Error('aborted');
    }
  }

  async #join(peer: string, name: string, signal: AbortSignal): Promise<Plan> {
    using c = new EtcdClient({ endpoints: [`${peer}:${ETCD_CLIENT_PORT}`], tls: await this.tls(), timeoutMs: 3000 });
    let members = await c.memberList(signal);
    let mine = members.find((m) => this.#isMine(m));
    if (mine && mine.name !== '') {
      // A started member with our peer URL while our data directory is empty: this node lost its
      // data (reset, new disk). That identity cannot come back; replace it with a fresh learner.
      this.#o.logger.warn('removing the stale etcd member of this node before rejoining', { member: memberIdHex(mine.ID) });
      await c.memberRemove(mine.ID, signal);
      mine = undefined;
    }
    if (!mine) {
      const added = await c.memberAdd(this.peerUrls, { learner: true, signal });
      mine = added.member;
      members = added.members;
      this.#o.logger.info('added this node to etcd as a learner', { member: memberIdHex(mine.ID), via: peer });
    }
    const myId = mine.ID;
    // etcd checks the initial cluster against the real membership by peer URLs; members that have
    // not started yet have no name, so they get a placeholder one.
    const initialCluster = members
      .flatMap((m) => m.peerURLs.map((u) => `${m.ID === myId ? name : m.name || `unstarted-${memberIdHex(m.ID)}`}=${u}`))
      .join(',');
    const others = members.filter((m) => m.ID !== myId).flatMap((m) => m.clientURLs.map(hostPort));
    return { mode: 'join', initialCluster, peers: [...new Set([...others, `${peer}:${ETCD_CLIENT_PORT}`])] };
  }

  /** etcd's command line for a plan. */
  argv(plan: Plan): string[] {
    const d = this.#o.certsDir;
    const spec = this.#spec();
    return [
      this.#o.etcdPath ?? 'etcd',
      `--name=${spec.name}`,
      `--data-dir=${this.#o.dataDir}`,
      `--listen-client-urls=${urls(spec.listenClientAddresses, ETCD_CLIENT_PORT).join(',')}`,
      `--advertise-client-urls=${this.clientUrls.join(',')}`,
      `--listen-peer-urls=${urls(spec.listenPeerAddresses, ETCD_PEER_PORT).join(',')}`,
      `--initial-advertise-peer-urls=${this.peerUrls.join(',')}`,
      `--initial-cluster=${plan.initialCluster}`,
      `--initial-cluster-state=${plan.mode === 'new' ? 'new' : 'existing'}`,
      `--trusted-ca-file=${join(d, CertFiles.ca)}`,
      `--cert-file=${join(d, CertFiles.serverCrt)}`,
      `--key-file=${join(d, CertFiles.serverKey)}`,
      '--client-cert-auth=true',
      `--peer-trusted-ca-file=${join(d, CertFiles.ca)}`,
      `--peer-cert-file=${join(d, 'peer.crt')}`,
      `--peer-key-file=${join(d, 'peer.key')}`,
      '--peer-client-cert-auth=true',
      '--experimental-initial-corrupt-check=true',
      '--logger=zap',
      '--log-outputs=stderr',
    ];
  }

  /**
   * Runs after etcd started: while this member is a learner, asks the cluster to promote it, which
   * etcd grants once the learner has caught up with the leader.
   */
  async promoteWhileLearner(peers: readonly string[], signal: AbortSignal): Promise<void> {
    let logged = '';
    while (!signal.aborted) {
      try {
        using c = await this.client();
        const all = new EtcdClient({ endpoints: [...peers, ...c.endpoints], tls: await this.tls(), timeoutMs: 3000 });
        using _ = all;
        const me = (await all.memberList(signal)).find((m) => this.#isMine(m));
        if (!me) return; // removed meanwhile; nothing to promote
        if (!me.isLearner) return;
        await all.memberPromote(me.ID, signal);
        this.#o.logger.info('etcd learner promoted to a voting member', { member: memberIdHex(me.ID) });
        return;
      } catch (err) {
        const m = messageOf(err);
        if (m !== logged) this.#o.logger.debug('etcd promotion not possible yet', { error: m });
        logged = m;
      }
      if (!(await sleepUnlessAborted(500, signal))) return;
    }
  }

  /** This node as the holder of an upgrade claim (see upgrade-claim.ts). */
  upgradeClaimant(): UpgradeClaimant {
    return { node: this.#spec().name, peerUrl: this.peerUrls[0] as string, bootId: this.bootId };
  }

  /**
   * Runs after etcd started: when this node's upgrade claim is still in etcd from before its
   * reboot, removes it once the cluster is healthy with this member voting again.
   */
  async releaseUpgradeClaimAfterReboot(peers: readonly string[], signal: AbortSignal): Promise<void> {
    try {
      const tls = await this.tls();
      using c = new EtcdClient({ endpoints: [...new Set([this.localEndpoint, ...peers])], tls, timeoutMs: 3000 });
      await releaseUpgradeClaimWhenHealthy(c, {
        mine: (claim) => this.peerUrls.includes(claim.peerUrl) && claim.bootId !== this.bootId,
        healthy: (s) => validateForUpgrade(c, { tls, preserve: true, signal: s }),
        signal,
        onReleased: (claim) => this.#o.logger.info('etcd is healthy again after the upgrade: upgrade claim released', { actorId: claim.actorId, since: claim.since }),
      });
    } catch (err) {
      this.#o.logger.debug('upgrade claim not checked', { error: messageOf(err) });
    }
  }

  // ---------------------------------------------------------------- API

  #supervisor(): ServiceSupervisor {
    const s = this.#o.supervisor();
    if (!s) throw new TalosError(Code.Unavailable, 'services are not running yet');
    return s;
  }

  /**
   * Makes this node the first member of a new cluster (or, with recover, of one restored from the
   * snapshot uploaded with EtcdRecover). Refused when etcd already has data here.
   */
  async bootstrap(options: { recover: boolean; skipHashCheck: boolean }, signal?: AbortSignal): Promise<void> {
    // AlreadyExists, as upstream answers: a client retrying a bootstrap treats it as done.
    if (this.#bootstrapRequested || (await this.hasData())) {
      throw new TalosError(Code.AlreadyExists, 'etcd data directory is not empty: this node is already bootstrapped or a member of an etcd cluster');
    }
    if (options.recover && !(await stat(this.#o.recoverSnapshotPath).then(() => true, () => false))) {
      throw new TalosError(Code.FailedPrecondition, 'no etcd snapshot was uploaded for recovery (use `talosctl etcd snapshot recover` first)');
    }
    this.#bootstrapRequested = true;
    if (options.recover) this.#recover = { skipHashCheck: options.skipHashCheck };
    this.#o.logger.info('bootstrapping etcd', { recover: options.recover });
    // The running service is waiting for a peer: restart it so the new plan applies.
    await this.#supervisor().restart(ETCD_SERVICE_ID, signal);
  }

  /** The members as the local etcd sees them. */
  async memberList(signal?: AbortSignal): Promise<EtcdMember[]> {
    using c = await this.client();
    return await c.memberList(signal);
  }

  /** Removes another member by id (one whose node is gone). */
  async removeMember(id: bigint, signal?: AbortSignal): Promise<void> {
    using c = await this.client();
    const members = await c.memberList(signal);
    if (!members.some((m) => m.ID === id)) throw new TalosError(Code.NotFound, `etcd member ${memberIdHex(id)} not found`);
    await removeWhenHealthy(c, id, signal);
  }

  /** Status of the local member. */
  async status(signal?: AbortSignal): Promise<Awaited<ReturnType<EtcdClient['status']>>> {
    using c = await this.client();
    return await c.status({ endpoint: c.endpoints[0] as string, ...(signal ? { signal } : {}) });
  }

  /** Active alarms in the cluster. */
  async alarms(signal?: AbortSignal): Promise<etcdPb.AlarmMember[]> {
    using c = await this.client();
    return await c.alarmList(signal);
  }

  /** Clears every active alarm; returns the alarms that were active. */
  async disarmAlarms(signal?: AbortSignal): Promise<etcdPb.AlarmMember[]> {
    using c = await this.client();
    return await c.alarmDisarmAll(signal);
  }

  /** Defragments the local member only (upstream does not defragment the others from one node). */
  async defragment(signal?: AbortSignal): Promise<void> {
    using c = await this.client();
    await c.defragment({ endpoint: c.endpoints[0] as string, ...(signal ? { signal } : {}) });
  }

  /** Hands leadership to another healthy voting member if this one leads; returns our name if it did. */
  async forfeitLeadership(signal?: AbortSignal): Promise<string> {
    using c = await this.client();
    const local = c.endpoints[0] as string;
    const st = await c.status({ endpoint: local, ...(signal ? { signal } : {}) });
    const myId = st.header?.memberId ?? 0n;
    if (st.leader !== myId) return '';
    const members = await c.memberList(signal);
    for (const m of members) {
      if (m.ID === myId || m.isLearner || m.name === '' || m.clientURLs.length === 0) continue;
      try {
        await c.status({ endpoint: hostPort(m.clientURLs[0] as string), ...(signal ? { signal } : {}) });
      } catch {
        continue;
      }
      await c.moveLeader(m.ID, { endpoint: local, ...(signal ? { signal } : {}) });
      this.#o.logger.info('etcd leadership moved', { to: m.name });
      return this.#spec().name;
    }
    throw new TalosError(Code.FailedPrecondition, 'no other healthy voting etcd member to hand leadership to');
  }

  /**
   * Leaves the cluster: refuses when the remaining healthy voters could not keep quorum, hands
   * over leadership, removes this member, then stops etcd and discards its data (a removed
   * member's data is useless; a later start joins again as a new member).
   */
  async leave(signal?: AbortSignal): Promise<void> {
    using c = await this.client();
    const members = await c.memberList(signal);
    const me = members.find((m) => this.#isMine(m));
    if (!me) throw new TalosError(Code.FailedPrecondition, 'this node is not an etcd member');
    const voters = members.filter((m) => !m.isLearner);
    if (!me.isLearner) {
      const healthy = await Promise.all(
        voters.map((m) => {
          const url = m.clientURLs[0];
          if (!url) return false;
          return c.status({ endpoint: hostPort(url), ...(signal ? { signal } : {}) }).then(
            () => true,
            () => false,
          );
        }),
      );
      const remaining = voters.length - 1;
      const remainingHealthy = voters.filter((m, i) => m.ID !== me.ID && healthy[i]).length;
      const quorum = Math.floor(remaining / 2) + 1;
      if (remaining === 0) throw new TalosError(Code.FailedPrecondition, 'cannot leave etcd cluster: this is its only voting member');
      if (remainingHealthy < quorum) {
        throw new TalosError(
          Code.FailedPrecondition,
          `leaving etcd cluster would lose quorum: ${remainingHealthy} of ${remaining} remaining voting members are healthy, ${quorum} needed`,
        );
      }
      await this.forfeitLeadership(signal).catch((err: unknown) => this.#o.logger.warn('could not forfeit etcd leadership before leaving', { error: err }));
    }
    const others = members.filter((m) => m.ID !== me.ID).flatMap((m) => m.clientURLs.map(hostPort));
    using via = new EtcdClient({ endpoints: others.length > 0 ? others : c.endpoints, tls: await this.tls() });
    await removeWhenHealthy(via, me.ID, signal);
    this.#o.logger.info('left the etcd cluster', { member: memberIdHex(me.ID) });
    await this.#supervisor().stop(ETCD_SERVICE_ID);
    await rm(this.#o.dataDir, { recursive: true, force: true });
    this.#bootstrapRequested = false;
  }

  /** Streams a snapshot of the local member's database. */
  async *snapshot(signal?: AbortSignal): AsyncIterable<Uint8Array> {
    using c = await this.client();
    yield* c.snapshot(signal);
  }

  /** Stores an uploaded snapshot for a later Bootstrap{recover_etcd}; returns its size. */
  async storeRecoverSnapshot(chunks: AsyncIterable<Uint8Array>): Promise<number> {
    if (await this.hasData()) throw new TalosError(Code.FailedPrecondition, 'etcd data directory is not empty: recovery needs a node without etcd data');
    const parts: Uint8Array[] = [];
    let size = 0;
    for await (const c of chunks) {
      parts.push(c);
      size += c.length;
    }
    if (size === 0) throw new TalosError(Code.InvalidArgument, 'empty etcd snapshot');
    await mkdir(join(this.#o.recoverSnapshotPath, '..'), { recursive: true });
    await writeFileAtomic(this.#o.recoverSnapshotPath, Buffer.concat(parts));
    return size;
  }
}

/**
 * MemberRemove, retried while etcd answers "unhealthy cluster": with its strict reconfiguration
 * check the leader counts only peers it has been connected to for a few seconds, so a member that
 * just (re)started makes a removal fail briefly.
 */
async function removeWhenHealthy(c: EtcdClient, id: bigint, signal: AbortSignal | undefined): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      await c.memberRemove(id, signal);
      return;
    } catch (err) {
      if (!/unhealthy cluster/.test(messageOf(err)) || Date.now() > deadline || signal?.aborted) throw err;
    }
    await sleepUnlessAborted(500, signal ?? new AbortController().signal);
  }
}

/**
 * The etcd service's runner: each run plans (restart, bootstrap or join), then runs the real etcd
 * process; after a join it promotes the learner in the background.
 */
class EtcdRunner implements Runner {
  readonly #manager: EtcdManager;
  readonly #active = new Set<Runner>();

  constructor(manager: EtcdManager) {
    this.#manager = manager;
  }

  get description(): string {
    try {
      return `Process(etcd ${this.#manager.clientUrls.join(',')})`;
    } catch {
      return 'Process(etcd)';
    }
  }

  async run(signal: AbortSignal, ctx: RunContext): Promise<RunOutcome> {
    let plan: Plan;
    try {
      plan = await this.#manager.plan(signal, ctx);
    } catch (err) {
      if (signal.aborted) return { ok: true, started: false, message: 'stopped before start' };
      return { ok: false, started: false, message: messageOf(err) };
    }
    const proc = createProcessRunner({ argv: this.#manager.argv(plan), gracePeriodMs: 10_000 });
    this.#active.add(proc);
    const promoteAc = new AbortController();
    const onAbort = (): void => promoteAc.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    const wrapped: RunContext = {
      ...ctx,
      started: (message) => {
        ctx.started(message);
        // Also after a restart from data: a join may have been interrupted before promotion.
        if (plan.mode !== 'new') void this.#manager.promoteWhileLearner(plan.peers, promoteAc.signal);
        void this.#manager.releaseUpgradeClaimAfterReboot(plan.peers, promoteAc.signal);
      },
    };
    try {
      return await proc.run(signal, wrapped);
    } finally {
      promoteAc.abort();
      signal.removeEventListener('abort', onAbort);
      this.#active.delete(proc);
      await proc[Symbol.asyncDispose]();
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await Promise.all([...this.#active].map((r) => r[Symbol.asyncDispose]()));
  }
}

/** An IP as the host part of a URL (IPv6 in brackets). */
function hostOf(ip: string): string {
  return isIP(ip) === 6 ? `[${ip}]` : ip;
}

/** `https://IP:port` per address. */
function urls(addresses: readonly string[], port: number): string[] {
  return addresses.map((a) => `https://${hostOf(a)}:${port}`);
}

/** Whether a certificate and key read from two files belong together. */
function pairMatches(tls: EtcdTls): boolean {
  try {
    return new X509Certificate(tls.crt).checkPrivateKey(createPrivateKey(tls.key));
  } catch {
    return false;
  }
}
