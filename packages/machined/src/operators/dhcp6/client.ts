import { Code, TalosError, nullLogger, systemClock, type Clock, type Logger } from '@talos-ts/cosi';
import type { Dhcp4Transport } from '../dhcp4/client.ts';
import { leaseFromReply, type Dhcp6Lease } from './lease.ts';
import { Msg6, Opt6, decode6, duidLL, encode6, encodeOptions, opt6, type Dhcp6Message } from './message.ts';
import { receiveWithin, sendOrLose, sleepUntil } from '../waits.ts';

/** The DHCPv6 client's link: sends go to ff02::1:2 port 547 unless `to` is given (linux/dhcp4-socket.ts openDhcp6Socket). */
export type Dhcp6Transport = Dhcp4Transport;

/** Where the client is (RFC 8415 section 18). */
export type Dhcp6State = 'init' | 'soliciting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'stopped';

/** What the client reports, as the DHCPv4 client does. */
export type Dhcp6Event =
  | { readonly type: 'bound'; readonly lease: Dhcp6Lease }
  | { readonly type: 'renewed'; readonly lease: Dhcp6Lease; readonly previous: Dhcp6Lease }
  | { readonly type: 'expired'; readonly lease: Dhcp6Lease; readonly reason: 'timeout' | 'nobinding' }
  | { readonly type: 'released'; readonly lease: Dhcp6Lease };

/** Options of {@link Dhcp6Client}. */
export interface Dhcp6ClientOptions {
  readonly transport: Dhcp6Transport;
  readonly clock?: Clock;
  readonly logger?: Logger;
  readonly onEvent?: (event: Dhcp6Event) => void;
  /** IAID of the IA_NA; stable per link (defaults to the MAC's last four bytes). */
  readonly iaid?: number;
  /** First retransmission timeout of SOLICIT/REQUEST (RFC 8415: 1 s), doubling up to maxRetryMs. */
  readonly initialRetryMs?: number;
  readonly maxRetryMs?: number;
  /** First and longest RENEW/REBIND retransmission timeouts (RFC 8415: 10 s and 600 s). */
  readonly renewRetryMs?: number;
  readonly maxRenewRetryMs?: number;
  readonly random?: () => number;
}

const ORO = Buffer.from([0, Opt6.DnsServers, 0, Opt6.DomainList, 0, Opt6.NtpServer, 0, Opt6.Sntp]);

/**
 * A stateful DHCPv6 client for one link's IA_NA: SOLICIT → ADVERTISE → REQUEST → REPLY, RENEW at T1
 * to the server that granted it, REBIND at T2 to any server, expiry at the valid lifetime, RELEASE
 * on stop. Waits go through the injected clock, as in the DHCPv4 client.
 */
export class Dhcp6Client implements AsyncDisposable {
  readonly #t: Dhcp6Transport;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #o: Dhcp6ClientOptions;
  readonly #abort = new AbortController();
  readonly #duid: Buffer;
  readonly #iaid: number;
  #state: Dhcp6State = 'init';
  #lease: Dhcp6Lease | undefined;
  #loop: Promise<void> | undefined;

  constructor(options: Dhcp6ClientOptions) {
    this.#o = options;
    this.#t = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? nullLogger).child({ component: 'dhcp6' });
    this.#duid = duidLL(this.#t.hardwareAddress);
    this.#iaid = options.iaid ?? this.#t.hardwareAddress.readUInt32BE(Math.max(0, this.#t.hardwareAddress.length - 4));
  }

  /** The current state. */
  get state(): Dhcp6State {
    return this.#state;
  }

  /** The lease in force, if any. */
  get lease(): Dhcp6Lease | undefined {
    return this.#lease;
  }

  /** Starts the state machine. */
  start(signal?: AbortSignal): void {
    if (this.#loop) return;
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.#loop = this.#run(this.#abort.signal).catch((err: unknown) => {
      if (!(err instanceof TalosError && err.code === Code.Canceled)) this.#log.error('dhcp6 client failed', { error: String(err) });
    });
  }

  /** Stops, releasing the lease held, and closes the transport. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#abort.abort();
    await this.#loop;
    this.#state = 'stopped';
    const lease = this.#lease;
    if (lease) {
      this.#lease = undefined;
      try {
        await this.#t.send(this.#build(Msg6.Release, this.#xid(), 0, { serverId: Buffer.from(lease.serverId, 'hex'), address: lease.address }));
        this.#log.info('lease released', { address: lease.cidr });
      } catch (err) {
        this.#log.warn('sending RELEASE failed', { error: String(err) });
      }
      this.#emit({ type: 'released', lease });
    }
    await this.#t[Symbol.asyncDispose]();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #run(signal: AbortSignal): Promise<void> {
    for (;;) {
      if (!this.#lease) {
        this.#lease = await this.#acquire(signal);
        this.#log.info('lease obtained', { address: this.#lease.cidr, validSeconds: this.#lease.times.validSeconds });
        this.#emit({ type: 'bound', lease: this.#lease });
      }
      const lease = this.#lease;
      this.#state = 'bound';
      const { acquiredAtMs, renewSeconds, rebindSeconds, validSeconds } = lease.times;
      if (!Number.isFinite(renewSeconds)) {
        await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new TalosError(Code.Canceled, 'stopped')), { once: true }));
      }
      await sleepUntil(this.#clock, acquiredAtMs + renewSeconds * 1000, signal);
      this.#state = 'renewing';
      let result = await this.#extend(lease, Msg6.Renew, acquiredAtMs + rebindSeconds * 1000, signal);
      if (result === undefined) {
        this.#state = 'rebinding';
        result = await this.#extend(lease, Msg6.Rebind, acquiredAtMs + validSeconds * 1000, signal);
      }
      if (result === undefined || result === 'nobinding') {
        const reason = result ?? 'timeout';
        this.#log.warn('lease lost', { address: lease.cidr, reason });
        this.#lease = undefined;
        this.#state = 'init';
        this.#emit({ type: 'expired', lease, reason });
        continue;
      }
      this.#lease = result;
      this.#emit({ type: 'renewed', lease: result, previous: lease });
    }
  }

  async #acquire(signal: AbortSignal): Promise<Dhcp6Lease> {
    const initial = this.#o.initialRetryMs ?? 1000;
    const max = this.#o.maxRetryMs ?? 3_600_000;
    for (;;) {
      this.#state = 'soliciting';
      const xid = this.#xid();
      const started = this.#clock.now();
      let advertise: Dhcp6Message | undefined;
      for (let wait = initial; !advertise; wait = Math.min(max, wait * 2)) {
        const reply = await this.#exchange(this.#build(Msg6.Solicit, xid, started), wait, xid, Msg6.Advertise, signal);
        if (reply && leaseFromReply(reply, this.#iaid, 0).lease) advertise = reply;
      }
      this.#state = 'requesting';
      const serverId = opt6(advertise, Opt6.ServerId)!;
      const rxid = this.#xid();
      for (let i = 0, wait = initial; i < 10; i++, wait = Math.min(30_000, wait * 2)) {
        const reply = await this.#exchange(this.#build(Msg6.Request, rxid, started, { serverId }), wait, rxid, Msg6.Reply, signal);
        if (!reply) continue;
        const { lease, warnings } = leaseFromReply(reply, this.#iaid, this.#clock.now());
        for (const w of warnings) this.#log.warn('ignored part of the reply', { problem: w });
        if (lease) return lease;
        break;
      }
    }
  }

  async #extend(lease: Dhcp6Lease, type: number, deadlineMs: number, signal: AbortSignal): Promise<Dhcp6Lease | 'nobinding' | undefined> {
    const xid = this.#xid();
    const started = this.#clock.now();
    const max = this.#o.maxRenewRetryMs ?? 600_000;
    let wait = this.#o.renewRetryMs ?? 10_000;
    const serverId = type === Msg6.Renew ? Buffer.from(lease.serverId, 'hex') : undefined;
    for (let i = 0; i < 100_000; i++, wait = Math.min(max, wait * 2)) {
      const remaining = deadlineMs - this.#clock.now();
      if (remaining <= 0) return undefined;
      const msg = this.#build(type, xid, started, { ...(serverId ? { serverId } : {}), address: lease.address });
      const reply = await this.#exchange(msg, Math.min(wait, remaining), xid, Msg6.Reply, signal);
      if (!reply) continue;
      const r = leaseFromReply(reply, this.#iaid, this.#clock.now());
      for (const w of r.warnings) this.#log.warn('ignored part of the reply', { problem: w });
      if (r.lease) return r.lease;
      if (r.status === 3 /* NoBinding */ || r.status === 2 /* NoAddrsAvail: the address was taken back */) return 'nobinding';
    }
    return undefined;
  }

  async #exchange(packet: Buffer, waitMs: number, xid: number, wanted: number, signal: AbortSignal): Promise<Dhcp6Message | undefined> {
    await sendOrLose(this.#t, packet, this.#log);
    const deadline = this.#clock.now() + waitMs;
    for (let i = 0; i < 10_000; i++) {
      const left = deadline - this.#clock.now();
      if (left <= 0) return undefined;
      const raw = await receiveWithin(this.#t, this.#clock, left, signal);
      if (!raw) return undefined;
      const d = decode6(raw);
      if ('error' in d) {
        this.#log.warn('undecodable DHCPv6 reply ignored', { problem: d.error });
        continue;
      }
      for (const w of d.warnings) this.#log.warn('malformed DHCPv6 option ignored', { problem: w });
      if (d.value.type !== wanted || d.value.xid !== xid || !opt6(d.value, Opt6.ClientId)?.equals(this.#duid)) continue;
      return d.value;
    }
    return undefined;
  }



  #build(type: number, xid: number, startedMs: number, f: { serverId?: Buffer; address?: string } = {}): Buffer {
    const elapsed = Buffer.alloc(2);
    elapsed.writeUInt16BE(Math.min(0xffff, Math.floor((this.#clock.now() - startedMs) / 10)));
    const iaHead = Buffer.alloc(12);
    iaHead.writeUInt32BE(this.#iaid >>> 0, 0);
    const iaInner = f.address ? encodeOptions([[Opt6.IaAddr, Buffer.concat([ip6Bytes(f.address), Buffer.alloc(8)])]]) : Buffer.alloc(0);
    const options: [number, Buffer][] = [[Opt6.ClientId, this.#duid]];
    if (f.serverId) options.push([Opt6.ServerId, f.serverId]);
    options.push([Opt6.ElapsedTime, elapsed], [Opt6.IaNa, Buffer.concat([iaHead, iaInner])]);
    if (type !== Msg6.Release) options.push([Opt6.Oro, ORO]);
    return encode6({ type, xid, options });
  }

  #xid(): number {
    return Math.floor((this.#o.random ?? Math.random)() * 0x100_0000) & 0xffffff;
  }

  #emit(event: Dhcp6Event): void {
    try {
      this.#o.onEvent?.(event);
    } catch (err) {
      this.#log.warn('lease listener failed', { error: String(err) });
    }
  }
}

/** An IPv6 address as 16 bytes. */
export function ip6Bytes(ip: string): Buffer {
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`not an IPv6 address: ${ip}`);
  const b = Buffer.alloc(16);
  groups.forEach((g, i) => b.writeUInt16BE(parseInt(g, 16), i * 2));
  return b;
}
