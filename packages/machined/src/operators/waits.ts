import { Code, TalosError, type Clock, type Logger } from '@talos-ts/cosi';

/** What the DHCP clients read datagrams from. */
export interface DatagramSource {
  receive(signal: AbortSignal): Promise<Buffer>;
}

/**
 * The next datagram, or undefined when waitMs passes first on the client's clock (a fake clock in
 * tests); a stopped client gets Canceled.
 */
export async function receiveWithin(source: DatagramSource, clock: Clock, waitMs: number, signal: AbortSignal): Promise<Buffer | undefined> {
  if (signal.aborted) throw new TalosError(Code.Canceled, 'stopped');
  const local = new AbortController();
  const onAbort = (): void => local.abort();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    const timer = clock.sleep(waitMs, local.signal).then(
      () => undefined,
      () => undefined,
    );
    const got = source.receive(local.signal).catch(() => undefined);
    const result = await Promise.race([got, timer]);
    if (signal.aborted) throw new TalosError(Code.Canceled, 'stopped');
    return result;
  } finally {
    signal.removeEventListener('abort', onAbort);
    local.abort();
  }
}

/** Sleeps until atMs on the clock; long waits are cut so a setTimeout never overflows (2^31 ms). */
export async function sleepUntil(clock: Clock, atMs: number, signal: AbortSignal): Promise<void> {
  for (let left = atMs - clock.now(); left > 0; left = atMs - clock.now()) {
    await clock.sleep(Math.min(left, 2 ** 30), signal);
  }
}

/** What the DHCP clients send datagrams through. */
export interface DatagramSink {
  send(packet: Buffer): Promise<void>;
}

/**
 * Sends one datagram to the link's default destination; a failure (no usable source address yet —
 * a link-local address still tentative, a link that went down) counts as a packet lost on the wire,
 * so the caller's retransmission timer tries again instead of the client dying on a transient error.
 */
export async function sendOrLose(sink: DatagramSink, packet: Buffer, log: Logger): Promise<void> {
  try {
    await sink.send(packet);
  } catch (err) {
    log.warn('send failed; retrying at the next retransmission', { error: String(err) });
  }
}
