import { Code, TalosError } from '@talos-ts/cosi';
import { native } from './native.ts';

/** Netlink protocol numbers we open. */
export const NetlinkProtocol = { ROUTE: 0, NETFILTER: 12, GENERIC: 16 } as const;

const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSG_HDRLEN = 16;

/** An acknowledgement or error the kernel sent for one request (errno 0 = success). */
export interface NetlinkAck {
  readonly seq: number;
  readonly errno: number;
}

/** Every NLMSG_ERROR in a datagram (acks are NLMSG_ERROR with errno 0). */
export function parseAcks(reply: Buffer): NetlinkAck[] {
  const out: NetlinkAck[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= reply.length; ) {
    const len = reply.readUInt32LE(off);
    if (len < NLMSG_HDRLEN || off + len > reply.length) break;
    if (reply.readUInt16LE(off + 4) === NLMSG_ERROR && len >= NLMSG_HDRLEN + 4) {
      out.push({ seq: reply.readUInt32LE(off + 8), errno: -reply.readInt32LE(off + NLMSG_HDRLEN) });
    }
    off += (len + 3) & ~3;
  }
  return out;
}

/** A request the kernel refused; `errno` says why (e.g. 19 ENODEV, 95 EOPNOTSUPP). */
export class NetlinkError extends TalosError {
  constructor(readonly errno: number) {
    super(Code.Internal, `netlink request failed: errno ${errno}`);
  }
}

/** Options of {@link NetlinkSocket}. */
export interface NetlinkSocketOptions {
  /** Open the socket inside this network namespace (a path such as /var/run/netns/x). */
  readonly netnsPath?: string;
  /** Send buffer to ask for: the largest datagram (one nf_tables transaction) it can carry. */
  readonly sendBufferBytes?: number;
}

/**
 * A blocking netlink socket (5 s receive timeout, set by the addon) that sends one datagram and
 * collects the kernel's answers for a range of sequence numbers. Requests here are short
 * configuration changes, so blocking the event loop for their round trip is acceptable.
 */
export class NetlinkSocket implements Disposable {
  readonly #fd: number;
  #seq = Math.floor(Date.now() / 1000) & 0x7fffffff;
  #closed = false;

  constructor(protocol: number, options: NetlinkSocketOptions = {}) {
    this.#fd = options.netnsPath === undefined ? native().netlinkOpen(protocol) : native().netlinkOpenIn(protocol, 0, options.netnsPath);
    if (options.sendBufferBytes !== undefined) {
      try {
        native().socketSendBuffer(this.#fd, options.sendBufferBytes);
      } catch (err) {
        native().close(this.#fd);
        throw err;
      }
    }
  }

  /** The next sequence number (to stamp messages with before {@link exchange}). */
  nextSeq(): number {
    this.#seq = (this.#seq + 1) & 0x7fffffff;
    return this.#seq;
  }

  /**
   * Sends `datagram` and reads answers until the ack for `lastSeq` arrives. Returns every error the
   * kernel reported (seq and errno), minus the errnos listed in `tolerate`.
   */
  exchange(datagram: Buffer, lastSeq: number, tolerate: readonly number[] = []): NetlinkAck[] {
    native().netlinkSend(this.#fd, datagram);
    const errors: NetlinkAck[] = [];
    // Bounded: every request gets one answer, and a silent kernel makes recv throw after 5 s.
    for (let datagrams = 0; datagrams < 100_000; datagrams++) {
      const acks = parseAcks(native().netlinkRecv(this.#fd));
      for (const a of acks) if (a.errno !== 0 && !tolerate.includes(a.errno)) errors.push(a);
      if (acks.some((a) => a.seq === lastSeq)) return errors;
    }
    throw new TalosError(Code.Internal, `netlink: no answer for request ${lastSeq}`);
  }

  /** Sends a request (stamped with `seq`) and returns the first answer that is not an ack; errors throw. */
  query(request: Buffer, seq: number): Buffer {
    const [first] = this.#collect(request, seq, true);
    if (!first) throw new TalosError(Code.Internal, `netlink: request ${seq} got only an ack`);
    return first;
  }

  /**
   * Sends a dump request (stamped with `seq`) and returns the messages of the answer until
   * NLMSG_DONE; an error answer throws with its errno in `errno`.
   */
  dump(request: Buffer, seq: number): Buffer[] {
    return this.#collect(request, seq, false);
  }

  #collect(request: Buffer, seq: number, firstOnly: boolean): Buffer[] {
    native().netlinkSend(this.#fd, request);
    const out: Buffer[] = [];
    // Bounded: a dump ends with NLMSG_DONE, and a silent kernel makes recv throw after 5 s.
    for (let datagrams = 0; datagrams < 100_000; datagrams++) {
      const reply = native().netlinkRecv(this.#fd);
      for (let off = 0; off + NLMSG_HDRLEN <= reply.length; ) {
        const len = reply.readUInt32LE(off);
        if (len < NLMSG_HDRLEN || off + len > reply.length) break;
        const type = reply.readUInt16LE(off + 4);
        if (reply.readUInt32LE(off + 8) === seq) {
          if (type === NLMSG_DONE) return out;
          if (type === NLMSG_ERROR) {
            const errno = -reply.readInt32LE(off + NLMSG_HDRLEN);
            if (errno === 0) return out;
            throw new NetlinkError(errno);
          }
          out.push(Buffer.from(reply.subarray(off, off + len)));
          if (firstOnly) return out;
        }
        off += (len + 3) & ~3;
      }
    }
    throw new TalosError(Code.Internal, `netlink: answer to ${seq} did not end`);
  }

  [Symbol.dispose](): void {
    if (this.#closed) return;
    this.#closed = true;
    native().close(this.#fd);
  }
}
