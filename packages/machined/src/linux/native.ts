import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A child's exit as waitpid reports it. */
export interface WaitStatus {
  readonly pid: number;
  readonly code: number | null;
  readonly signal: number | null;
}

/** The system calls of machined's native addon (src/linux/native/talos_native.c). */
export interface NativeAddon {
  mount(source: string | null, target: string, fstype: string | null, flags: number, data?: string | null): void;
  umount2(target: string, flags?: number): void;
  sethostname(name: string): void;
  reboot(cmd: 'restart' | 'poweroff' | 'halt'): void;
  finitModule(path: string, params?: string): void;
  waitpid(pid: number, nohang?: boolean): WaitStatus | null;
  /** The pid of an exited child, left unreaped (WNOWAIT); 0 if none. */
  waitidPeek(): number;
  chroot(path: string): void;
  execve(path: string, argv: readonly string[], env: readonly string[]): never;
  netlinkOpen(protocol: number, groups?: number): number;
  netlinkSend(fd: number, message: Buffer): void;
  netlinkRecv(fd: number): Buffer;
  close(fd: number): void;
  /** The kernel log buffer as syslog(2) READ_ALL returns it (`<prio>[  secs] message` lines). */
  klogReadAll(): string;
  sync(): void;
  /** A non-blocking UDP socket on 0.0.0.0:port, bound to the link when named, made in the netns at the path when given. */
  udpOpen(ifname: string | null, port: number, netnsPath?: string | null): number;
  udpSend(fd: number, data: Buffer, address: string, port: number): void;
  /** The next datagram, or null when none is waiting. */
  udpRecv(fd: number): Buffer | null;
  /** Moves CLOCK_REALTIME by the offset (nanoseconds, decimal string) at once. */
  clockStep(offsetNs: string): void;
  /** Has the kernel slew the clock by the offset (adjtimex ADJ_OFFSET_SINGLESHOT). */
  clockSlew(offsetUs: number): void;
  /** As udpOpen, for IPv6 ([::]:port). */
  udp6Open(ifname: string | null, port: number, netnsPath?: string | null): number;
  udp6Send(fd: number, data: Buffer, address: string, port: number): void;
  /** An AF_PACKET socket on the link receiving IPv4 UDP datagrams to port 68 (from the IP header on). */
  packetOpen(ifname: string, netnsPath?: string | null): number;
  /** Sends one gratuitous ARP request for an IPv4 address out a link (inside netnsPath when given). */
  arpAnnounce(ifname: string, ipv4: string, netnsPath?: string | null): void;
  /** Raises a socket's send buffer (SO_SNDBUFFORCE, else SO_SNDBUF); returns the size granted. */
  socketSendBuffer(fd: number, bytes: number): number;
  /** A netlink socket made inside the network namespace at `netnsPath` ('' = ours), 8 MiB receive buffer. */
  netlinkOpenIn(protocol: number, groups: number, netnsPath: string): number;
  /** One datagram, or null when none is waiting. */
  netlinkRecvNonBlocking(fd: number): Buffer | null;
  /** Calls `onReadable(status)` on the event loop while `fd` is readable; undo with fdUnwatch. */
  fdWatch(fd: number, onReadable: (status: number) => void): object;
  fdUnwatch(handle: object): void;
}

/** mount(2) flags we use. */
export const MountFlags = {
  RDONLY: 0x1,
  NOSUID: 0x2,
  NODEV: 0x4,
  NOEXEC: 0x8,
  REMOUNT: 0x20,
  BIND: 0x1000,
  MOVE: 0x2000,
  REC: 0x4000,
  PRIVATE: 1 << 18,
  SHARED: 1 << 20,
  RELATIME: 1 << 21,
} as const;

/** umount2(2) flags. */
export const UmountFlags = { FORCE: 1, DETACH: 2 } as const;

/** Where the addon is looked for: $TALOS_NATIVE_ADDON, the image's copy, then this checkout's build. */
export function nativeAddonCandidates(): string[] {
  const out: string[] = [];
  if (process.env.TALOS_NATIVE_ADDON) out.push(process.env.TALOS_NATIVE_ADDON);
  out.push('/usr/lib/talos/talos_native.node');
  // Absent in a CommonJS bundle (the image's), which uses the absolute path above.
  const here = typeof import.meta === 'object' && typeof import.meta.dirname === 'string' ? import.meta.dirname : undefined;
  if (here) out.push(join(here, 'native', 'build', 'Release', 'talos_native.node'));
  // A checkout's dist/machined.cjs (the process provisioner runs it): the checkout's build.
  if (typeof __filename === 'string') out.push(join(dirname(__filename), '..', 'packages', 'machined', 'src', 'linux', 'native', 'build', 'Release', 'talos_native.node'));
  return out;
}

let loaded: NativeAddon | undefined;

/** Loads the addon once; throws naming the places searched when it is not built. */
export function native(): NativeAddon {
  if (loaded) return loaded;
  const candidates = nativeAddonCandidates();
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new Error(`native addon not found (run scripts/build-native.sh); looked in ${candidates.join(', ')}`);
  // A computed path keeps bundlers from inlining the binary.
  const req = createRequire(typeof __filename === 'string' ? __filename : import.meta.url);
  loaded = req(path) as NativeAddon;
  return loaded;
}
