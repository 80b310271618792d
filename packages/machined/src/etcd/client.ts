import { Code, TalosError, hasCode } from '@talos-ts/cosi';
import { clientOn, createH2Channel, etcdPb, type GrpcClient, type H2Channel } from '@talos-ts/machinery';

/** The port etcd serves clients on. */
export const ETCD_CLIENT_PORT = 2379;
/** The port etcd members talk to each other on. */
export const ETCD_PEER_PORT = 2380;

/** PEM material for mutual TLS with etcd: the etcd CA and a client pair it issued. */
export interface EtcdTls {
  readonly ca: string;
  readonly crt: string;
  readonly key: string;
}

/** Options of {@link EtcdClient}. */
export interface EtcdClientOptions {
  /** `host:port` of members to try, in order. */
  readonly endpoints: readonly string[];
  readonly tls: EtcdTls;
  /** Per-call deadline (default 5 s). */
  readonly timeoutMs?: number;
}

/** One member as the Cluster API describes it. */
export type EtcdMember = etcdPb.Member;

interface Stubs {
  readonly channel: H2Channel;
  readonly kv: GrpcClient<typeof etcdPb.KV>;
  readonly cluster: GrpcClient<typeof etcdPb.Cluster>;
  readonly maintenance: GrpcClient<typeof etcdPb.Maintenance>;
  readonly lease: GrpcClient<typeof etcdPb.Lease>;
}

/** One key as a prefix listing returns it (value as text). */
export interface EtcdKey {
  readonly key: string;
  readonly value: string;
  readonly createRevision: bigint;
  readonly lease: bigint;
}

// Errors that say "this endpoint cannot answer now", as opposed to etcd refusing the request.
function retryable(err: unknown): boolean {
  return hasCode(err, Code.Unavailable) || hasCode(err, Code.DeadlineExceeded) || hasCode(err, Code.Canceled);
}

/** The `host:port` of a URL such as `https://10.0.0.1:2379`. */
export function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

/** Formats a member id as upstream talosctl and etcdctl do (lowercase hex). */
export function memberIdHex(id: bigint): string {
  return id.toString(16);
}

/**
 * A small etcd v3 client over gRPC with mutual TLS: membership, status, snapshots, leadership and
 * plain key reads/writes. Unary calls try the endpoints in order and move on only when one is
 * unreachable; an answer from etcd (including a refusal) is final.
 */
export class EtcdClient implements Disposable {
  readonly endpoints: readonly string[];
  readonly #tls: EtcdTls;
  readonly #timeoutMs: number;
  readonly #stubs = new Map<string, Stubs>();

  constructor(options: EtcdClientOptions) {
    if (options.endpoints.length === 0) throw new TalosError(Code.InvalidArgument, 'etcd client needs at least one endpoint');
    this.endpoints = [...options.endpoints];
    this.#tls = options.tls;
    this.#timeoutMs = options.timeoutMs ?? 5000;
  }

  #stubsFor(endpoint: string): Stubs {
    let s = this.#stubs.get(endpoint);
    if (!s) {
      // One HTTP/2 connection per member, shared by the three services.
      const channel = createH2Channel(endpoint, { tls: { caPem: this.#tls.ca, certPem: this.#tls.crt, keyPem: this.#tls.key } });
      s = { channel, kv: clientOn(etcdPb.KV, channel), cluster: clientOn(etcdPb.Cluster, channel), maintenance: clientOn(etcdPb.Maintenance, channel), lease: clientOn(etcdPb.Lease, channel) };
      this.#stubs.set(endpoint, s);
    }
    return s;
  }

  async #any<T>(signal: AbortSignal | undefined, call: (s: Stubs, opts: { signal?: AbortSignal; timeoutMs: number }) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const endpoint of this.endpoints) {
      try {
        return await call(this.#stubsFor(endpoint), { ...(signal ? { signal } : {}), timeoutMs: this.#timeoutMs });
      } catch (err) {
        if (signal?.aborted || !retryable(err)) throw err;
        last = err;
      }
    }
    throw new TalosError(Code.Unavailable, `no etcd endpoint answered (${this.endpoints.join(', ')}): ${TalosError.from(last).message}`, { cause: last });
  }

  /** Lists members; all of them, learners included. */
  async memberList(signal?: AbortSignal): Promise<EtcdMember[]> {
    return (await this.#any(signal, (s, o) => s.cluster.memberList({}, o))).members;
  }

  /** Adds a member by its peer URLs; returns it and the members after the change. */
  async memberAdd(peerUrls: readonly string[], options: { learner: boolean; signal?: AbortSignal }): Promise<{ member: EtcdMember; members: EtcdMember[] }> {
    const r = await this.#any(options.signal, (s, o) => s.cluster.memberAdd({ peerURLs: [...peerUrls], isLearner: options.learner }, o));
    if (!r.member) throw new TalosError(Code.Internal, 'etcd answered MemberAdd without the member');
    return { member: r.member, members: r.members };
  }

  /** Removes a member by id. */
  async memberRemove(id: bigint, signal?: AbortSignal): Promise<void> {
    await this.#any(signal, (s, o) => s.cluster.memberRemove({ ID: id }, o));
  }

  /** Promotes a learner that has caught up with the leader to a voting member. */
  async memberPromote(id: bigint, signal?: AbortSignal): Promise<void> {
    await this.#any(signal, (s, o) => s.cluster.memberPromote({ ID: id }, o));
  }

  /** Status of the member at `endpoint` (default: the first endpoint that answers). */
  async status(options: { endpoint?: string; signal?: AbortSignal } = {}): Promise<etcdPb.StatusResponse> {
    if (options.endpoint !== undefined) {
      const s = this.#stubsFor(options.endpoint);
      return s.maintenance.status({}, { ...(options.signal ? { signal: options.signal } : {}), timeoutMs: this.#timeoutMs });
    }
    return this.#any(options.signal, (s, o) => s.maintenance.status({}, o));
  }

  /** Asks the leader (this client's first endpoint must be it) to hand leadership to `targetId`. */
  async moveLeader(targetId: bigint, options: { endpoint: string; signal?: AbortSignal }): Promise<void> {
    await this.#stubsFor(options.endpoint).maintenance.moveLeader(
      { targetID: targetId },
      { ...(options.signal ? { signal: options.signal } : {}), timeoutMs: Math.max(this.#timeoutMs, 10_000) },
    );
  }

  /** Streams a snapshot of the first endpoint's backend (the bytes end with etcd's SHA-256). */
  async *snapshot(signal?: AbortSignal): AsyncIterable<Uint8Array> {
    const endpoint = this.endpoints[0] as string;
    for await (const chunk of this.#stubsFor(endpoint).maintenance.snapshot({}, signal ? { signal } : {})) {
      if (chunk.blob.length > 0) yield chunk.blob;
    }
  }

  /** Active alarms of the whole cluster (NOSPACE, CORRUPT) as the member at hand reports them. */
  async alarmList(signal?: AbortSignal): Promise<etcdPb.AlarmMember[]> {
    return (await this.#any(signal, (s, o) => s.maintenance.alarm({ action: etcdPb.AlarmRequest_AlarmAction.GET }, o))).alarms;
  }

  /** Clears every active alarm, one (member, alarm) pair at a time as etcdctl does; returns those cleared. */
  async alarmDisarmAll(signal?: AbortSignal): Promise<etcdPb.AlarmMember[]> {
    const active = await this.alarmList(signal);
    for (const a of active) {
      await this.#any(signal, (s, o) => s.maintenance.alarm({ action: etcdPb.AlarmRequest_AlarmAction.DEACTIVATE, memberID: a.memberID, alarm: a.alarm }, o));
    }
    return active;
  }

  /** Defragments the backend of the member at `endpoint`; it can take long on a big database, so the deadline is generous. */
  async defragment(options: { endpoint: string; signal?: AbortSignal }): Promise<void> {
    await this.#stubsFor(options.endpoint).maintenance.defragment(
      {},
      { ...(options.signal ? { signal: options.signal } : {}), timeoutMs: Math.max(this.#timeoutMs, 60_000) },
    );
  }

  /** Writes one key. */
  async put(key: string, value: string, signal?: AbortSignal): Promise<void> {
    await this.#any(signal, (s, o) => s.kv.put({ key: Buffer.from(key), value: Buffer.from(value) }, o));
  }

  /** Reads one key (linearizable); undefined when it does not exist. */
  async get(key: string, signal?: AbortSignal): Promise<string | undefined> {
    const r = await this.#any(signal, (s, o) => s.kv.range({ key: Buffer.from(key) }, o));
    const kv = r.kvs[0];
    return kv ? Buffer.from(kv.value).toString('utf8') : undefined;
  }

  /** Every key under a prefix (`prefix` itself up to the next key past it), in create order. */
  async listPrefix(prefix: string, signal?: AbortSignal): Promise<EtcdKey[]> {
    const r = await this.#any(signal, (s, o) => s.kv.range({ key: Buffer.from(prefix), rangeEnd: prefixEnd(Buffer.from(prefix)) }, o));
    return r.kvs
      .map((kv) => ({ key: Buffer.from(kv.key).toString('utf8'), value: Buffer.from(kv.value).toString('utf8'), createRevision: kv.createRevision, lease: kv.lease }))
      .sort((a, b) => (a.createRevision < b.createRevision ? -1 : a.createRevision > b.createRevision ? 1 : 0));
  }

  /** Creates a key bound to a lease unless it exists; true when this call created it. */
  async createIfAbsent(key: string, value: string, lease: bigint, signal?: AbortSignal): Promise<boolean> {
    const k = Buffer.from(key);
    const r = await this.#any(signal, (s, o) =>
      s.kv.txn(
        {
          compare: [{ key: k, target: etcdPb.Compare_CompareTarget.CREATE, result: etcdPb.Compare_CompareResult.EQUAL, targetUnion: { case: 'createRevision', value: 0n } }],
          success: [{ request: { case: 'requestPut', value: { key: k, value: Buffer.from(value), lease } } }],
        },
        o,
      ),
    );
    return r.succeeded;
  }

  /** Deletes one key only while it still holds `value` (compare-and-delete); true when this call deleted it. */
  async deleteIfValue(key: string, value: string, signal?: AbortSignal): Promise<boolean> {
    const k = Buffer.from(key);
    const r = await this.#any(signal, (s, o) =>
      s.kv.txn(
        {
          compare: [{ key: k, target: etcdPb.Compare_CompareTarget.VALUE, result: etcdPb.Compare_CompareResult.EQUAL, targetUnion: { case: 'value', value: Buffer.from(value) } }],
          success: [{ request: { case: 'requestDeleteRange', value: { key: k } } }],
        },
        o,
      ),
    );
    return r.succeeded;
  }

  /** Deletes one key; the number of keys deleted (0 or 1). */
  async delete(key: string, signal?: AbortSignal): Promise<number> {
    return Number((await this.#any(signal, (s, o) => s.kv.deleteRange({ key: Buffer.from(key) }, o))).deleted);
  }

  /** Grants a lease of `ttlSeconds`; its id. */
  async leaseGrant(ttlSeconds: number, signal?: AbortSignal): Promise<bigint> {
    const r = await this.#any(signal, (s, o) => s.lease.leaseGrant({ TTL: BigInt(ttlSeconds) }, o));
    if (r.error) throw new TalosError(Code.Unavailable, `etcd refused a lease: ${r.error}`);
    return r.ID;
  }

  /** Revokes a lease, deleting the keys bound to it. */
  async leaseRevoke(id: bigint, signal?: AbortSignal): Promise<void> {
    await this.#any(signal, (s, o) => s.lease.leaseRevoke({ ID: id }, o));
  }

  /**
   * Renews a lease once; its remaining TTL in seconds (0: it has expired). One short stream per
   * renewal, as etcd only offers renewal as a stream.
   */
  async leaseKeepAliveOnce(id: bigint, signal?: AbortSignal): Promise<number> {
    return this.#any(signal, async (s, o) => {
      for await (const r of s.lease.leaseKeepAlive(oneRequest({ ID: id }), o)) return Number(r.TTL);
      throw new TalosError(Code.Unavailable, 'etcd closed the lease keep-alive stream without an answer');
    });
  }

  /** Closes every channel. */
  close(): void {
    for (const s of this.#stubs.values()) {
      s.channel.close();
    }
    this.#stubs.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The range end that makes a Range cover every key starting with `prefix` (etcd's GetPrefixRangeEnd). */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const end = Uint8Array.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i]! < 0xff) {
      end[i]! += 1;
      return end.subarray(0, i + 1);
    }
  }
  return new Uint8Array([0]);
}

async function* oneRequest<T>(req: T): AsyncIterable<T> {
  yield req;
}
