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

/** The DHCP client's way onto a link: a UDP socket on port 68 bound to the interface (SO_BINDTODEVICE). */
export interface Dhcp4Socket extends AsyncDisposable {
  readonly hardwareAddress: Buffer;
  send(packet: Buffer, to?: string): Promise<void>;
  receive(signal: AbortSignal): Promise<Buffer>;
}

/**
 * Opens the socket. Broadcasts go out the named link even when it has no address, and the client
 * asks for broadcast replies until it has one, so no packet socket is needed. Datagrams are read by
 * polling the non-blocking descriptor only while someone waits, so no thread is parked on it.
 */
export function openDhcp4Socket(options: Dhcp4SocketOptions): Dhcp4Socket {
  const hw = options.hardwareAddress ?? readMac(options.ifname);
  const fd = native().udpOpen(options.ifname, options.clientPort ?? 68, options.netnsPath ?? null);
  const serverPort = options.serverPort ?? 67;
  return {
    hardwareAddress: hw,
    ...pollingSocket(fd, options.ifname, options.pollMs ?? 20, (packet, to) => native().udpSend(fd, packet, to ?? '255.255.255.255', serverPort)),
  };
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
    ...pollingSocket(fd, options.ifname, options.pollMs ?? 20, (packet, to) => native().udp6Send(fd, packet, to ?? 'ff02::1:2', serverPort)),
  };
}

/** Send and a receive that polls the non-blocking descriptor only while someone waits. */
function pollingSocket(
  fd: number,
  ifname: string,
  pollMs: number,
  sendTo: (packet: Buffer, to: string | undefined) => void,
): Omit<Dhcp4Socket, 'hardwareAddress'> {
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
          let got: Buffer | null;
          try {
            got = native().udpRecv(fd);
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
      }
      return Promise.resolve();
    },
  };
}

function readMac(ifname: string): Buffer {
  const text = readFileSync(`/sys/class/net/${ifname}/address`, 'utf8').trim();
  return Buffer.from(text.replace(/:/g, ''), 'hex');
}
