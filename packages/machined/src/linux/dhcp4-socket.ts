import { readFileSync } from 'node:fs';
import { Code, TalosError } from '@talos-ts/cosi';
import { native } from './native.ts';

/** Options of {@link openDhcp4Socket}. */
export interface Dhcp4SocketOptions {
  /** The link to talk DHCP on. */
  readonly ifname: string;
  /** Its MAC address; read from /sys/class/net when omitted (which only sees this process's namespace). */
  readonly hardwareAddress?: Buffer;
  /** Make the socket in this network namespace (a /run/netns/NAME path); this process's otherwise. */
  readonly netnsPath?: string;
  /** How often a waiting receive looks for a datagram. */
  readonly pollMs?: number;
  /** Local port; 68 unless a test needs another. */
  readonly clientPort?: number;
  /** Server port; 67 unless a test needs another. */
  readonly serverPort?: number;
}

/** The DHCP client's way onto a link: sends through a UDP socket on port 68 bound to the interface, receives through a packet socket. */
export interface Dhcp4Socket extends AsyncDisposable {
  readonly hardwareAddress: Buffer;
  send(packet: Buffer, to?: string): Promise<void>;
  receive(signal: AbortSignal): Promise<Buffer>;
}

/**
 * Opens the sockets. Broadcasts go out the named link even when it has no address (SO_BINDTODEVICE);
 * replies are read from an AF_PACKET socket filtered to UDP port 68, because the IP stack drops a
 * broadcast reply on a link without an address when reverse-path filtering is strict. Datagrams are
 * read by polling the non-blocking descriptors only while someone waits, so no thread is parked.
 */
export function openDhcp4Socket(options: Dhcp4SocketOptions): Dhcp4Socket {
  const hw = options.hardwareAddress ?? readMac(options.ifname);
  const fd = native().udpOpen(options.ifname, options.clientPort ?? 68, options.netnsPath ?? null);
  let raw: number;
  try {
    raw = native().packetOpen(options.ifname, options.netnsPath ?? null);
  } catch (err) {
    native().close(fd);
    throw err;
  }
  const serverPort = options.serverPort ?? 67;
  return {
    hardwareAddress: hw,
    ...pollingSocket({
      fd,
      recvFd: raw,
      unwrap: udpPayload,
      ifname: options.ifname,
      pollMs: options.pollMs ?? 20,
      sendTo: (packet, to) => native().udpSend(fd, packet, to ?? '255.255.255.255', serverPort),
    }),
  };
}

/** The UDP payload of an IPv4 datagram as the packet socket hands it over (IP header first). */
export function udpPayload(b: Buffer): Buffer | null {
  if (b.length < 28 || b[0]! >> 4 !== 4) return null;
  const ihl = (b[0]! & 0xf) * 4;
  if (b[9] !== 17 || b.length < ihl + 8) return null;
  const udpLength = b.readUInt16BE(ihl + 4);
  if (udpLength < 8 || ihl + udpLength > b.length) return null;
  return b.subarray(ihl + 8, ihl + udpLength);
}

/** Options of {@link openDhcp6Socket}. */
export type Dhcp6SocketOptions = Dhcp4SocketOptions;

/**
 * The DHCPv6 client's socket: UDP [::]:546 bound to the link; without `to` it sends to
 * All_DHCP_Relay_Agents_and_Servers (ff02::1:2) port 547 from the link-local address.
 */
export function openDhcp6Socket(options: Dhcp6SocketOptions): Dhcp4Socket {
  const hw = options.hardwareAddress ?? readMac(options.ifname);
  const fd = native().udp6Open(options.ifname, options.clientPort ?? 546, options.netnsPath ?? null);
  const serverPort = options.serverPort ?? 547;
  return {
    hardwareAddress: hw,
    ...pollingSocket({
      fd,
      recvFd: fd,
      unwrap: (b) => b,
      ifname: options.ifname,
      pollMs: options.pollMs ?? 20,
      sendTo: (packet, to) => native().udp6Send(fd, packet, to ?? 'ff02::1:2', serverPort),
    }),
  };
}

/**
 * Send and a receive that polls the non-blocking descriptor only while someone waits. With a packet
 * socket for receiving, the UDP socket only sends; what queues on it (the same replies, when the
 * kernel delivers them) is drained and dropped.
 */
function pollingSocket(o: {
  fd: number;
  recvFd: number;
  unwrap: (b: Buffer) => Buffer | null;
  ifname: string;
  pollMs: number;
  sendTo: (packet: Buffer, to: string | undefined) => void;
}): Omit<Dhcp4Socket, 'hardwareAddress'> {
  const { fd, recvFd, unwrap, ifname, pollMs, sendTo } = o;
  let closed = false;
  const waiters = new Set<() => void>();
  return {
    send(packet: Buffer, to?: string): Promise<void> {
      if (closed) return Promise.reject(new TalosError(Code.FailedPrecondition, 'dhcp socket closed'));
      try {
        sendTo(packet, to);
        return Promise.resolve();
      } catch (err) {
        return Promise.reject(new TalosError(Code.Unavailable, `dhcp send on ${ifname}: ${(err as Error).message}`, { cause: err }));
      }
    },
    receive(signal: AbortSignal): Promise<Buffer> {
      return new Promise((resolve, reject) => {
        let timer: NodeJS.Timeout | undefined;
        const finish = (): void => {
          if (timer) clearTimeout(timer);
          signal.removeEventListener('abort', onAbort);
          waiters.delete(onAbort);
        };
        const onAbort = (): void => {
          finish();
          reject(new TalosError(Code.Canceled, 'receive aborted'));
        };
        const poll = (): void => {
          timer = undefined;
          if (closed) return onAbort();
          let got: Buffer | null = null;
          try {
            for (let i = 0; i < 64 && recvFd !== fd && native().udpRecv(fd); i++);
            for (let i = 0; i < 64 && !got; i++) {
              const b = native().udpRecv(recvFd);
              if (!b) break;
              got = unwrap(b);
            }
          } catch (err) {
            finish();
            reject(new TalosError(Code.Unavailable, `dhcp receive on ${ifname}: ${(err as Error).message}`, { cause: err }));
            return;
          }
          if (got) {
            finish();
            resolve(got);
            return;
          }
          timer = setTimeout(poll, pollMs);
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        waiters.add(onAbort);
        poll();
      });
    },
    [Symbol.asyncDispose](): Promise<void> {
      if (!closed) {
        closed = true;
        for (const w of [...waiters]) w();
        native().close(fd);
        if (recvFd !== fd) native().close(recvFd);
      }
      return Promise.resolve();
    },
  };
}

function readMac(ifname: string): Buffer {
  const text = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}
