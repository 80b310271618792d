import { Code, TalosError, nullLogger, systemClock, type Clock, type Logger } from '@talos-ts/cosi';
import { decodeReply, encodeRequest, isProblem, type NtpSample } from './packet.ts';

/**
 * The clock timed reads and corrects. On metal it is the kernel's (linux/clock.ts steps with
 * clock_settime and slews with adjtimex); tests use a clock with an offset of their own, so the
 * host's clock is never touched.
 */
export interface AdjustableClock {
  /** Wall time in Unix milliseconds as this node sees it. */
  now(): number;
  /** Moves the clock by offsetMs at once. */
  step(offsetMs: number): void;
  /** Has the clock drift towards offsetMs gradually. */
  slew(offsetMs: number): void;
}

/** Sends one datagram to `server` (host, host:port or [v6]:port; port 123 by default) and returns the first reply. */
export type NtpExchange = (server: string, packet: Buffer, options: { timeoutMs: number; signal: AbortSignal }) => Promise<Buffer>;

/** What timed reports, the fields of TimeStatus plus what `talosctl time` shows. */
export interface TimeSyncStatus {
  readonly synced: boolean;
  /** Incremented each time the clock jumps by more than 15 minutes. */
  readonly epoch: number;
  readonly syncDisabled: boolean;
  readonly lastServer?: string;
  readonly lastOffsetMs?: number;
}

/** Options of {@link TimeSync}. */
export interface TimeSyncOptions {
  readonly servers: readonly string[];
  readonly exchange: NtpExchange;
  readonly adjuster: AdjustableClock;
  /** Drives the waits between polls (tests move a fake one). */
  readonly sleeper?: Clock;
  readonly logger?: Logger;
  /** Leaves the clock alone and reports syncDisabled, as upstream does in container mode. */
  readonly disabled?: boolean;
  readonly queryTimeoutMs?: number;
  readonly minPollMs?: number;
  readonly maxPollMs?: number;
  readonly retryPollMs?: number;
  readonly onStatus?: (status: TimeSyncStatus) => void;
}

// Upstream's constants (internal/pkg/ntp/consts.go).
/** Offsets larger than this are stepped, smaller ones slewed. */
export const ADJUST_TIME_LIMIT_MS = 400;
/** A step larger than this starts a new epoch. */
export const EPOCH_LIMIT_MS = 15 * 60_000;
const EXPECTED_ACCURACY_MS = 200;
const MIN_POLL_MS = 32_000;
const MAX_POLL_MS = 2_048_000;
const RETRY_POLL_MS = 1000;
const QUERY_TIMEOUT_MS = 5000;

/** Options of {@link queryServer}. */
export interface QueryOptions {
  readonly exchange: NtpExchange;
  readonly clock: Pick<AdjustableClock, 'now'>;
  readonly timeoutMs?: number;
  readonly signal: AbortSignal;
}

/** Queries one server once and validates the reply; throws Unavailable (with kissOfDeath in details) when unusable. */
export async function queryServer(server: string, options: QueryOptions): Promise<NtpSample> {
  const request = encodeRequest(options.clock.now());
  const reply = await options.exchange(server, request, { timeoutMs: options.timeoutMs ?? QUERY_TIMEOUT_MS, signal: options.signal });
  const sample = decodeReply(reply, request, options.clock.now());
  if (isProblem(sample)) {
    throw new TalosError(Code.Unavailable, `${server}: ${sample.error}`, { details: sample.kissOfDeath ? { kissOfDeath: sample.kissOfDeath } : {} });
  }
  return sample;
}

/**
 * timed: an SNTP client for the configured servers. It queries the server that answered last, else
 * each in turn, applies the offset (step above 400 ms, slew below), and polls again after an
 * interval that shrinks while the offset is large and grows while it is small. It runs in the
 * background: nothing waits for the first sync unless it asks through {@link synced}.
 */
export class TimeSync implements AsyncDisposable {
  readonly #o: TimeSyncOptions;
  readonly #log: Logger;
  readonly #sleeper: Clock;
  readonly #abort = new AbortController();
  #servers: readonly string[];
  #lastServer: string | undefined;
  #status: TimeSyncStatus;
  #restart: AbortController = new AbortController();
  #loop: Promise<void> | undefined;
  readonly #synced: Promise<void>;
  #markSynced!: () => void;

  constructor(options: TimeSyncOptions) {
    this.#o = options;
    this.#log = (options.logger ?? nullLogger).child({ component: 'timed' });
    this.#sleeper = options.sleeper ?? systemClock;
    this.#servers = [...options.servers];
    this.#status = { synced: false, epoch: 0, syncDisabled: options.disabled === true };
    this.#synced = new Promise((resolve) => (this.#markSynced = resolve));
  }

  /** The latest status. */
  get status(): TimeSyncStatus {
    return this.#status;
  }

  /** Resolves after the first successful adjustment. */
  get synced(): Promise<void> {
    return this.#synced;
  }

  /** Starts syncing in the background. */
  start(): void {
    if (this.#loop) return;
    this.#emit(this.#status);
    if (this.#o.disabled) {
      this.#log.info('time sync disabled (container mode): the host keeps the clock');
      this.#loop = Promise.resolve();
      return;
    }
    this.#loop = this.#run().catch((err: unknown) => {
      if (!(err instanceof TalosError && err.code === Code.Canceled)) this.#log.error('timed stopped', { error: String(err) });
    });
  }

  /** Replaces the server list and syncs again at once. */
  setServers(servers: readonly string[]): void {
    this.#servers = [...servers];
    if (this.#lastServer && !servers.includes(this.#lastServer)) this.#lastServer = undefined;
    this.#restart.abort();
  }

  /** One query to one server, without adjusting anything (what `talosctl time --check` shows). */
  query(server: string, signal?: AbortSignal): Promise<NtpSample> {
    return queryServer(server, {
      exchange: this.#o.exchange,
      clock: this.#o.adjuster,
      timeoutMs: this.#o.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
      signal: signal ? AbortSignal.any([signal, this.#abort.signal]) : this.#abort.signal,
    });
  }

  /** Stops the loop. */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#restart.abort();
    await this.#loop;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }

  async #run(): Promise<void> {
    const minPoll = this.#o.minPollMs ?? MIN_POLL_MS;
    const maxPoll = this.#o.maxPollMs ?? MAX_POLL_MS;
    const retryPoll = this.#o.retryPollMs ?? RETRY_POLL_MS;
    let poll = 0;
    while (!this.#abort.signal.aborted) {
      if (this.#restart.signal.aborted) this.#restart = new AbortController();
      const { server, sample, kissOfDeath } = await this.#queryAny();
      if (!sample) {
        // Kiss-o'-death: back off; anything else may be the network, so retry soon.
        poll = kissOfDeath ? (poll < minPoll ? minPoll : Math.min(maxPoll, poll * 2)) : retryPoll;
      } else {
        const abs = Math.abs(sample.offsetMs);
        if (poll === 0) poll = minPoll;
        else if (abs > EXPECTED_ACCURACY_MS) poll = minPoll;
        else if (abs < EXPECTED_ACCURACY_MS * 0.25) poll = Math.min(maxPoll, poll * 2);
        else if (abs > EXPECTED_ACCURACY_MS * 0.75) poll = Math.max(minPoll, poll / 2);
        poll = Math.max(minPoll, poll);
        this.#adjust(server!, sample);
      }
      try {
        await this.#sleeper.sleep(poll, AbortSignal.any([this.#abort.signal, this.#restart.signal]));
      } catch {
        if (this.#abort.signal.aborted) return;
        // Servers changed: query again now.
      }
    }
  }

  async #queryAny(): Promise<{ server?: string; sample?: NtpSample; kissOfDeath: boolean }> {
    let kissOfDeath = false;
    const failed = new Set<string>();
    const order = this.#lastServer ? [this.#lastServer, ...this.#servers.filter((s) => s !== this.#lastServer)] : [...this.#servers];
    for (const server of order) {
      if (this.#abort.signal.aborted || this.#restart.signal.aborted) break;
      if (failed.has(server)) continue;
      try {
        const sample = await this.query(server);
        this.#log.debug('time query', { server, offsetMs: sample.offsetMs, delayMs: sample.delayMs, stratum: sample.stratum });
        this.#lastServer = server;
        return { server, sample, kissOfDeath: false };
      } catch (err) {
        failed.add(server);
        if (err instanceof TalosError && err.details.kissOfDeath) kissOfDeath = true;
        this.#log.warn('time query failed', { server, error: err instanceof Error ? err.message : String(err) });
        if (server === this.#lastServer) this.#lastServer = undefined;
      }
    }
    return { kissOfDeath };
  }

  #adjust(server: string, sample: NtpSample): void {
    const offset = sample.offsetMs;
    let epoch = this.#status.epoch;
    try {
      if (Math.abs(offset) > ADJUST_TIME_LIMIT_MS) {
        this.#o.adjuster.step(offset);
        if (Math.abs(offset) > EPOCH_LIMIT_MS) epoch++;
        this.#log.info('adjusting time (jump)', { server, offsetMs: offset });
      } else {
        this.#o.adjuster.slew(offset);
        this.#log[this.#status.synced ? 'debug' : 'info']('adjusting time (slew)', { server, offsetMs: offset });
      }
    } catch (err) {
      this.#log.warn('adjusting time failed', { server, error: String(err) });
      return;
    }
    this.#emit({ synced: true, epoch, syncDisabled: false, lastServer: server, lastOffsetMs: offset });
    this.#markSynced();
  }

  #emit(status: TimeSyncStatus): void {
    const changed = status.synced !== this.#status.synced || status.epoch !== this.#status.epoch || !this.#loop;
    this.#status = status;
    if (!changed) return;
    try {
      this.#o.onStatus?.(status);
    } catch (err) {
      this.#log.warn('status listener failed', { error: String(err) });
    }
  }
}
