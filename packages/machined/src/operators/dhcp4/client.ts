import { Code, TalosError, nullLogger, systemClock, type Clock, type Logger } from '@talos-ts/cosi';
import { leaseFromAck, type Dhcp4Lease } from './lease.ts';
import { receiveWithin, sendOrLose, sleepUntil } from '../waits.ts';
import {
  FLAG_BROADCAST,
  MessageType,
  Option,
  decodeMessage,
  encodeMessage,
  ipBytes,
  messageTypeOf,
  type Dhcp4Message,
  type MessageTypeValue,
} from './message.ts';

/**
 * How the client reaches the link: the real one (linux/dhcp4-socket.ts) is a UDP socket on port 68
 * bound to the interface; tests may use anything that moves datagrams.
 */
export interface Dhcp4Transport extends AsyncDisposable {
  /** The link's hardware address, sent as chaddr and client identifier. */
  readonly hardwareAddress: Buffer;
  /** Sends to the server at `to` (port 67), or broadcasts when `to` is undefined. */
  send(packet: Buffer, to?: string): Promise<void>;
  /** The next datagram received on port 68; rejects with Canceled when the signal aborts. */
  receive(signal: AbortSignal): Promise<Buffer>;
}

/** Where the client is in RFC 2131's state diagram. */
export type Dhcp4State = 'init' | 'selecting' | 'requesting' | 'bound' | 'renewing' | 'rebinding' | 'stopped';

/** What the client reports: a new lease, a renewed one, a lost one, or a release on stop. */
export type Dhcp4Event =
  | { readonly type: 'bound'; readonly lease: Dhcp4Lease }
  | { readonly type: 'renewed'; readonly lease: Dhcp4Lease; readonly previous: Dhcp4Lease }
  | { readonly type: 'expired'; readonly lease: Dhcp4Lease; readonly reason: 'timeout' | 'nak' }
  | { readonly type: 'released'; readonly lease: Dhcp4Lease };

/** Options of {@link Dhcp4Client}. */
export interface Dhcp4ClientOptions {
  readonly transport: Dhcp4Transport;
  readonly clock?: Clock;
  readonly logger?: Logger;
  /** Sent as option 12 so the server can register the name (also settable later: {@link Dhcp4Client.setHostname}). */
  readonly hostname?: string;
  /** Sent as option 15 with the hostname. */
  readonly domainname?: string;
  /** Called on every lease change; exceptions are logged, not propagated. */
  readonly onEvent?: (event: Dhcp4Event) => void;
  /** First retransmission timeout in INIT/REQUESTING; doubles up to maxRetryMs (RFC 2131 4.1: 4 s .. 64 s). */
  readonly initialRetryMs?: number;
  readonly maxRetryMs?: number;
  /** REQUESTs sent for one offer before starting over. */
  readonly requestAttempts?: number;
  /** Shortest wait between retransmissions while RENEWING or REBINDING (RFC 2131 4.4.5: 60 s). */
  readonly minRenewRetryMs?: number;
  /** Longest such wait; RFC 2131 has none (half the time left), tests cap it to see a server come back quickly. */
  readonly maxRenewRetryMs?: number;
  /** Random source for transaction ids (tests pin it). */
  readonly random?: () => number;
}

const PARAMETERS = [
  Option.SubnetMask,
  Option.Router,
  Option.DomainNameServer,
  Option.HostName,
  Option.DomainName,
  Option.InterfaceMtu,
  Option.BroadcastAddress,
  Option.NtpServers,
  Option.LeaseTime,
  Option.ServerId,
  Option.RenewalTime,
  Option.RebindingTime,
  Option.DomainSearch,
  Option.ClasslessStaticRoute,
];

/**
 * A DHCPv4 client for one link: INIT → SELECTING → REQUESTING → BOUND → RENEWING → REBINDING, with
 * expiry and a DHCPRELEASE on stop. Every wait goes through the injected clock, so renewal, rebinding
 * and expiry are tested by moving a fake clock; every receive races that clock, so a silent server
 * never blocks anything but this client's own loop.
 */
export class Dhcp4Client implements AsyncDisposable {
  readonly #t: Dhcp4Transport;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #opts: Dhcp4ClientOptions;
  readonly #abort = new AbortController();
  #state: Dhcp4State = 'init';
  #lease: Dhcp4Lease | undefined;
  #loop: Promise<void> | undefined;
  #hostname: { readonly hostname: string; readonly domainname: string } | undefined;
  /** The name the last DHCPREQUEST carried: a change that lands before the bound wait starts still renews. */
  #requested: { readonly hostname: string; readonly domainname: string } | undefined;
  /** Cuts the bound wait short: the next renewal goes out now. */
  #wake: AbortController | undefined;

  constructor(options: Dhcp4ClientOptions) {
    this.#opts = options;
    if (options.hostname) this.#hostname = { hostname: options.hostname, domainname: options.domainname ?? '' };
    this.#t = options.transport;
    this.#clock = options.clock ?? systemClock;
    this.#log = (options.logger ?? nullLogger).child({ component: 'dhcp4' });
  }

  /** The current state. */
  get state(): Dhcp4State {
    return this.#state;
  }

  /** The lease in force, if any. */
  get lease(): Dhcp4Lease | undefined {
    return this.#lease;
  }

  /**
   * Sends this name (option 12, and the domain as option 15) from now on, and renews at once when
   * bound, so the server's records follow a hostname change without dropping the lease (dnsmasq
   * takes the name from a renewal). While a name is sent, none is asked for: a server that would
   * echo the client's own name back must not make it a DHCP-given one.
   */
  setHostname(name: { readonly hostname: string; readonly domainname: string } | undefined): void {
    const same = sameName(name, this.#hostname);
    this.#hostname = name?.hostname ? name : undefined;
    if (!same) this.#wake?.abort();
  }

  /** Starts the state machine; `signal` stops it like {@link stop} (without waiting). */
  start(signal?: AbortSignal): void {
    if (this.#loop) return;
    signal?.addEventListener('abort', () => void this.stop(), { once: true });
    this.#loop = this.#run(this.#abort.signal).catch((err: unknown) => {
      if (!(err instanceof TalosError && err.code === Code.Canceled)) this.#log.error('dhcp4 client failed', { error: String(err) });
    });
  }

  /** Stops the client, releasing the lease held (DHCPRELEASE), and closes the transport. */
  async stop(): Promise<void> {
    if (this.#state === 'stopped') return;
    this.#abort.abort();
    await this.#loop;
    this.#state = 'stopped';
    const lease = this.#lease;
    if (lease) {
      this.#lease = undefined;
      try {
        await this.#sendTo(this.#build(MessageType.Release, { ciaddr: lease.address, xid: this.#xid(), serverId: lease.serverId }), lease.serverId);
        this.#log.info('lease released', { address: lease.cidr });
      } catch (err) {
        this.#log.warn('sending DHCPRELEASE failed', { error: String(err) });
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
        this.#log.info('lease obtained', { address: this.#lease.cidr, server: this.#lease.serverId, leaseSeconds: this.#lease.times.leaseSeconds });
        this.#emit({ type: 'bound', lease: this.#lease });
      }
      const lease = this.#lease;
      this.#state = 'bound';
      const { acquiredAtMs, renewSeconds, rebindSeconds, leaseSeconds } = lease.times;
      if (!Number.isFinite(leaseSeconds)) {
        // An infinite lease is never renewed: wait for stop.
        await new Promise<never>((_, reject) => signal.addEventListener('abort', () => reject(new TalosError(Code.Canceled, 'stopped')), { once: true }));
      }
      const wake = new AbortController();
      // Renamed while the lease was being requested: the server has the old name, renew now.
      if (!sameName(this.#hostname, this.#requested)) wake.abort();
      this.#wake = wake;
      try {
        wake.signal.throwIfAborted();
        await sleepUntil(this.#clock, acquiredAtMs + renewSeconds * 1000, AbortSignal.any([signal, wake.signal]));
      } catch (err) {
        if (signal.aborted || !wake.signal.aborted) throw err;
        this.#log.info('renewing now: the hostname changed', { hostname: this.#hostname?.hostname ?? '' });
      } finally {
        this.#wake = undefined;
      }
      this.#state = 'renewing';
      let result = await this.#extend(lease, acquiredAtMs + rebindSeconds * 1000, false, signal);
      if (result === undefined) {
        this.#state = 'rebinding';
        result = await this.#extend(lease, acquiredAtMs + leaseSeconds * 1000, true, signal);
      }
      if (result === undefined || result === 'nak') {
        const reason = result === 'nak' ? 'nak' : 'timeout';
        this.#log.warn('lease lost', { address: lease.cidr, reason });
        this.#lease = undefined;
        this.#state = 'init';
        this.#emit({ type: 'expired', lease, reason });
        continue;
      }
      this.#lease = result;
      this.#log.info('lease renewed', { address: result.cidr, leaseSeconds: result.times.leaseSeconds });
      this.#emit({ type: 'renewed', lease: result, previous: lease });
    }
  }

  /** INIT → SELECTING → REQUESTING until an ACK; retries forever with RFC backoff. */
  async #acquire(signal: AbortSignal): Promise<Dhcp4Lease> {
    const initial = this.#opts.initialRetryMs ?? 4000;
    const max = this.#opts.maxRetryMs ?? 64_000;
    for (;;) {
      this.#state = 'selecting';
      const xid = this.#xid();
      const started = this.#clock.now();
      let offer: Dhcp4Message | undefined;
      for (let wait = initial; !offer; wait = Math.min(max, wait * 2)) {
        const discover = this.#build(MessageType.Discover, { xid, secs: this.#secs(started) });
        offer = await this.#exchange(discover, undefined, wait, xid, [MessageType.Offer], signal);
      }
      const serverId = offer.options.get(Option.ServerId);
      if (!serverId || serverId.length !== 4) {
        this.#log.warn('offer without a server identifier ignored', { yiaddr: offer.yiaddr });
        continue;
      }
      this.#state = 'requesting';
      const attempts = this.#opts.requestAttempts ?? 4;
      for (let i = 0, wait = initial; i < attempts; i++, wait = Math.min(max, wait * 2)) {
        const request = this.#build(MessageType.Request, {
          xid,
          secs: this.#secs(started),
          requested: offer.yiaddr,
          serverId: `${serverId[0]}.${serverId[1]}.${serverId[2]}.${serverId[3]}`,
        });
        const reply = await this.#exchange(request, undefined, wait, xid, [MessageType.Ack, MessageType.Nak], signal);
        if (!reply) continue;
        if (messageTypeOf(reply) === MessageType.Nak) {
          this.#log.warn('request refused (NAK), starting over', { address: offer.yiaddr });
          break;
        }
        const lease = this.#leaseOf(reply);
        if (lease) return lease;
        break;
      }
      this.#state = 'init';
    }
  }

  /**
   * RENEWING (unicast to the server) or REBINDING (broadcast to any server) until `deadlineMs`:
   * the new lease, 'nak', or undefined when the deadline passed without an answer.
   */
  async #extend(lease: Dhcp4Lease, deadlineMs: number, broadcast: boolean, signal: AbortSignal): Promise<Dhcp4Lease | 'nak' | undefined> {
    const minRetry = this.#opts.minRenewRetryMs ?? 60_000;
    const xid = this.#xid();
    const started = this.#clock.now();
    for (let i = 0; i < 1_000_000; i++) {
      const remaining = deadlineMs - this.#clock.now();
      if (remaining <= 0) return undefined;
      const wait = Math.min(this.#opts.maxRenewRetryMs ?? Number.POSITIVE_INFINITY, Math.max(Math.min(minRetry, remaining), remaining / 2));
      const request = this.#build(MessageType.Request, { xid, secs: this.#secs(started), ciaddr: lease.address });
      const reply = await this.#exchange(request, broadcast ? undefined : lease.serverId, wait, xid, [MessageType.Ack, MessageType.Nak], signal);
      if (!reply) continue;
      if (messageTypeOf(reply) === MessageType.Nak) return 'nak';
      const next = this.#leaseOf(reply);
      if (next) return next;
    }
    return undefined;
  }

  #leaseOf(ack: Dhcp4Message): Dhcp4Lease | undefined {
    const { lease, warnings } = leaseFromAck(ack, this.#clock.now());
    for (const w of warnings) this.#log.warn('ignored part of the ACK', { problem: w });
    return lease;
  }

  /** Sends, then waits up to waitMs for a reply to xid of one of the wanted types. */
  async #exchange(
    packet: Buffer,
    to: string | undefined,
    waitMs: number,
    xid: number,
    wanted: readonly MessageTypeValue[],
    signal: AbortSignal,
  ): Promise<Dhcp4Message | undefined> {
    await this.#sendTo(packet, to);
    const deadline = this.#clock.now() + waitMs;
    for (let i = 0; i < 10_000; i++) {
      const left = deadline - this.#clock.now();
      if (left <= 0) return undefined;
      const raw = await receiveWithin(this.#t, this.#clock, left, signal);
      if (!raw) return undefined;
      const decoded = decodeMessage(raw);
      if ('error' in decoded) {
        this.#log.warn('undecodable DHCP reply ignored', { problem: decoded.error });
        continue;
      }
      const msg = decoded.value;
      for (const w of decoded.warnings) this.#log.warn('malformed DHCP option ignored', { problem: w });
      if (msg.op !== 2 || msg.xid !== xid || !msg.chaddr.equals(this.#t.hardwareAddress)) continue;
      const type = messageTypeOf(msg);
      if (type !== undefined && (wanted as readonly number[]).includes(type)) return msg;
    }
    return undefined;
  }

  async #sendTo(packet: Buffer, to: string | undefined): Promise<void> {
    if (to !== undefined) {
      try {
        return await this.#t.send(packet, to);
      } catch (err) {
        // No route to the server yet (the address is not applied): ask on the link instead.
        this.#log.debug('unicast failed, broadcasting', { to, error: String(err) });
      }
    }
    await sendOrLose(this.#t, packet, this.#log);
  }



  #build(
    type: MessageTypeValue,
    f: { xid: number; secs?: number; ciaddr?: string; requested?: string; serverId?: string },
  ): Buffer {
    const mac = this.#t.hardwareAddress;
    const options = new Map<number, Buffer>([[Option.MessageType, Buffer.from([type])]]);
    options.set(Option.ClientId, Buffer.concat([Buffer.from([1]), mac]));
    if (f.requested) options.set(Option.RequestedIp, ipBytes(f.requested));
    if (f.serverId) options.set(Option.ServerId, ipBytes(f.serverId));
    if (type !== MessageType.Release) {
      options.set(Option.MaxMessageSize, Buffer.from([0x05, 0xdc]));
      const name = this.#hostname;
      if (type === MessageType.Request) this.#requested = name;
      options.set(Option.ParameterRequestList, Buffer.from(name ? PARAMETERS.filter((o) => o !== Option.HostName && o !== Option.DomainName) : PARAMETERS));
      if (name) {
        options.set(Option.HostName, Buffer.from(name.hostname, 'latin1'));
        if (name.domainname) options.set(Option.DomainName, Buffer.from(name.domainname, 'latin1'));
      }
    }
    // Without an address we cannot take a unicast reply: ask for a broadcast one.
    const flags = f.ciaddr ? 0 : FLAG_BROADCAST;
    const msg: Dhcp4Message = {
      op: 1,
      xid: f.xid,
      secs: f.secs ?? 0,
      flags,
      ciaddr: f.ciaddr ?? '0.0.0.0',
      yiaddr: '0.0.0.0',
      siaddr: '0.0.0.0',
      giaddr: '0.0.0.0',
      chaddr: mac,
      options,
    };
    return encodeMessage(msg);
  }

  #secs(startedMs: number): number {
    return Math.min(0xffff, Math.floor((this.#clock.now() - startedMs) / 1000));
  }

  #xid(): number {
    return Math.floor((this.#opts.random ?? Math.random)() * 0x1_0000_0000) >>> 0;
  }

  #emit(event: Dhcp4Event): void {
    try {
      this.#opts.onEvent?.(event);
    } catch (err) {
      this.#log.warn('lease listener failed', { error: String(err) });
    }
  }
}

type HostName = { readonly hostname: string; readonly domainname: string } | undefined;

function sameName(a: HostName, b: HostName): boolean {
  return a?.hostname === b?.hostname && a?.domainname === b?.domainname;
}
