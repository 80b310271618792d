import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@talos-ts/cosi';
import { cmdlineValues, earlyIpArgument, parseCmdline, type IpArgument } from './cmdline.ts';
import { loadModules } from './kmod.ts';
import { deviceModaliases, modulesForDevices, readModuleIndex } from './modules.ts';
import { MountFlags, native } from './native.ts';
import { linkIndex, RouteSocket } from './netlink.ts';
import { ownChildren } from './children.ts';
import { mountSystemDisk, type SystemDisk } from './system-disk.ts';

/** Modules a node needs besides the drivers its devices ask for. */
export const NODE_MODULES = ['xfs', 'overlay', 'br_netfilter', 'nf_tables', 'nf_conntrack', 'veth', 'bridge', 'ip_tables', 'iptable_nat', 'iptable_filter', 'xt_conntrack', 'xt_MASQUERADE', 'af_packet', '8021q', 'bonding', 'dummy', 'wireguard'];

/** Kernel self-protection sysctls applied at boot, as upstream Talos does (KSPP recommendations). */
export const KSPP_SYSCTLS: Readonly<Record<string, string>> = {
  'kernel.kptr_restrict': '1',
  'kernel.dmesg_restrict': '1',
  'kernel.perf_event_paranoid': '3',
  'kernel.kexec_load_disabled': '1',
  'kernel.yama.ptrace_scope': '1',
  'kernel.unprivileged_bpf_disabled': '1',
  'net.core.bpf_jit_harden': '2',
  'user.max_user_namespaces': '0',
  'dev.tty.ldisc_autoload': '0',
  'fs.protected_fifos': '2',
  'fs.protected_regular': '2',
  'fs.protected_symlinks': '1',
  'fs.protected_hardlinks': '1',
  'fs.suid_dumpable': '0',
};

/** What the metal boot learned from the kernel command line and applied. */
export interface MetalBoot {
  readonly args: ReadonlyMap<string, string>;
  readonly ip?: IpArgument;
  readonly hostname?: string;
  /** The address apid should listen on (from ip=), else 0.0.0.0. */
  readonly address: string;
  readonly modulesLoaded: number;
  /** The installed disk booted from, with STATE and EPHEMERAL mounted; absent on a live boot. */
  readonly systemDisk?: SystemDisk;
}

/** Writes a sysctl; returns false when the kernel lacks it. */
export function writeSysctl(name: string, value: string, procRoot = '/proc'): boolean {
  const p = join(procRoot, 'sys', ...name.split('.'));
  if (!existsSync(p)) return false;
  writeFileSync(p, value);
  return true;
}

function mountIfMissing(source: string, target: string, fstype: string, flags: number, data?: string): void {
  mkdirSync(target, { recursive: true });
  const mounts = readFileSync('/proc/self/mounts', 'utf8');
  if (mounts.split('\n').some((l) => l.split(' ')[1] === target)) return;
  native().mount(source, target, fstype, flags, data ?? null);
}

/** The mounts of a node on a read-only SquashFS root (upstream's seeds): /system, /var, /run, cgroup2, … */
export function mountSystem(): void {
  const nosuid = MountFlags.NOSUID | MountFlags.NODEV;
  mountIfMissing('devpts', '/dev/pts', 'devpts', MountFlags.NOSUID | MountFlags.NOEXEC, 'gid=5,mode=620,ptmxmode=666');
  mountIfMissing('tmpfs', '/dev/shm', 'tmpfs', nosuid);
  mountIfMissing('cgroup2', '/sys/fs/cgroup', 'cgroup2', nosuid | MountFlags.NOEXEC, 'nsdelegate');
  mountIfMissing('tmpfs', '/run', 'tmpfs', nosuid, 'mode=0755');
  mountIfMissing('tmpfs', '/system', 'tmpfs', nosuid, 'mode=0755');
  mountIfMissing('tmpfs', '/var', 'tmpfs', nosuid, 'mode=0755');
  mountIfMissing('tmpfs', '/tmp', 'tmpfs', nosuid, 'mode=1777');
  mkdirSync('/system/etc', { recursive: true });
}

/** Directories a node writes below a read-only root: overlays with their upper layer on /var. */
export const OVERLAY_MOUNTS = ['/etc/kubernetes', '/etc/cni', '/opt'];

/** Mounts a writable overlay (upper and work dirs under /var/system/overlays) on each of {@link OVERLAY_MOUNTS}. */
export function mountOverlays(): void {
  for (const target of OVERLAY_MOUNTS) {
    const name = target.slice(1).replace(/\//g, '-');
    const upper = `/var/system/overlays/${name}-diff`;
    const work = `/var/system/overlays/${name}-workdir`;
    mkdirSync(upper, { recursive: true });
    mkdirSync(work, { recursive: true });
    mkdirSync(target, { recursive: true });
    mountIfMissing('overlay', target, 'overlay', MountFlags.NOSUID | MountFlags.NODEV, `lowerdir=${target},upperdir=${upper},workdir=${work}`);
  }
}

/** Writes /system/etc/{hosts,resolv.conf} and bind-mounts them over the read-only /etc files. */
export function writeEtc(hostname: string, dns: readonly string[]): void {
  writeFileSync('/system/etc/hosts', `127.0.0.1 localhost\n127.0.1.1 ${hostname}\n::1 localhost ip6-localhost ip6-loopback\n`);
  writeFileSync('/system/etc/resolv.conf', dns.map((d) => `nameserver ${d}\n`).join(''));
  for (const f of ['hosts', 'resolv.conf']) {
    const target = `/etc/${f}`;
    const mounts = readFileSync('/proc/self/mounts', 'utf8');
    if (!mounts.split('\n').some((l) => l.split(' ')[1] === target)) native().mount(`/system/etc/${f}`, target, null, MountFlags.BIND);
  }
}

/** Loads the drivers the devices want and the node's modules, then forbids further loading. */
export function loadNodeModules(logger: Logger): number {
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const dir = join('/lib/modules', release);
  if (!existsSync(dir)) return 0;
  const index = readModuleIndex(dir);
  let loaded = 0;
  const wanted = [...modulesForDevices(index, deviceModaliases()), ...NODE_MODULES];
  for (const m of wanted) {
    try {
      loaded += loadModules(dir, index, [m]).length;
    } catch (err) {
      logger.warn('module not loaded', { module: m, error: (err as Error).message });
    }
  }
  writeSysctl('kernel.modules_disabled', '1');
  return loaded;
}

/** Configures the network from `ip=`: loopback up, the address, the default route. */
export function applyIpArgument(ip: IpArgument | undefined, logger: Logger, ignored: readonly string[] = []): void {
  using nl = new RouteSocket();
  nl.linkUp(linkIndex('lo'));
  if (!ip?.address || ip.autoconf === 'dhcp') return;
  // /sys/class/net also holds files that are not links (bonding_masters once bonding is loaded).
  const device = ip.device ?? readdirSync('/sys/class/net').sort().find((n) => n !== 'lo' && !ignored.includes(n) && existsSync(`/sys/class/net/${n}/ifindex`));
  if (!device) throw new Error('ip=: no network interface found');
  const index = linkIndex(device);
  nl.linkUp(index);
  nl.addAddress(index, ip.address, ip.prefixLength ?? 24);
  if (ip.gateway) nl.addRoute(index, ip.gateway);
  logger.info('network configured from ip=', { device, address: `${ip.address}/${ip.prefixLength ?? 24}`, gateway: ip.gateway ?? '' });
}

/** Everything PID 1 does on metal before the boot sequence: mounts, modules, sysctls, hostname, network. */
export function prepareMetal(logger: Logger): MetalBoot {
  mountSystem();
  logger.info('system mounts ready');
  const cmdline = readFileSync('/proc/cmdline', 'utf8');
  const args = parseCmdline(cmdline);
  const modulesLoaded = loadNodeModules(logger);
  logger.info('kernel modules loaded; loading disabled', { count: modulesLoaded });
  let systemDisk: SystemDisk | undefined;
  try {
    // Before the overlays, so their upper layers land on EPHEMERAL.
    systemDisk = mountSystemDisk(logger);
  } catch (err) {
    // The node stays reachable (on tmpfs) so the failure can be seen through the API.
    logger.error('system disk not mounted; state is not persistent this boot', { error: (err as Error).message });
  }
  try {
    mountOverlays();
  } catch (err) {
    logger.warn('overlay mounts failed', { error: (err as Error).message });
  }
  for (const [k, v] of Object.entries(KSPP_SYSCTLS)) {
    try {
      writeSysctl(k, v);
    } catch (err) {
      logger.warn('sysctl not applied', { name: k, error: (err as Error).message });
    }
  }
  const ip = earlyIpArgument(cmdlineValues(cmdline, 'ip'), (error) => logger.warn('ignoring ip= argument', { error }));
  const ignored = (args.get('talos.network.interface.ignore') ?? '').split(',').filter(Boolean);
  applyIpArgument(ip, logger, ignored);
  const hostname = args.get('talos.hostname') ?? ip?.hostname;
  if (hostname) native().sethostname(hostname);
  writeEtc(hostname ?? 'talos', ip?.dns.length ? ip.dns : ['10.0.2.3']);
  return { args, ...(ip ? { ip } : {}), ...(hostname ? { hostname } : {}), ...(systemDisk ? { systemDisk } : {}), address: ip?.address ?? '0.0.0.0', modulesLoaded };
}

/**
 * Reaps orphaned zombies re-parented to PID 1, leaving our own children to Node (which waits for
 * them by pid): a zombie is reaped only if its parent is us and we did not start it.
 */
export function reapOrphans(): number {
  let reaped = 0;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (ownChildren.has(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (rest[0] !== 'Z' || Number(rest[1]) !== process.pid) continue;
    try {
      if (native().waitpid(pid, true)) reaped++;
    } catch {
      // Already reaped by someone else.
    }
  }
  return reaped;
}

/** Seconds since the kernel started (/proc/uptime); 0 where it cannot be read. */
export function bootUptimeSeconds(): number {
  try {
    return Number.parseFloat(readFileSync('/proc/uptime', 'utf8').split(' ')[0] ?? '0') || 0;
  } catch {
    return 0;
  }
}

/** Syncs and restarts or powers off the machine. */
export function machineReset(cmd: 'restart' | 'poweroff'): void {
  native().reboot(cmd);
}

/** Resident memory (bytes) of this process and the children it started, by program name. */
export function residentMemory(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const pid of [process.pid, ...ownChildren]) {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      // Our programs are scripts run by node: name them by the script.
      const script = argv.find((a) => /\.[cm]?js$/.test(a));
      const name = (script ?? argv[0] ?? String(pid)).split('/').pop()?.replace(/\.[cm]?js$/, '') ?? String(pid);
      if (rss?.[1]) out[name] = (out[name] ?? 0) + Number(rss[1]) * 1024;
    } catch {
      // Exited meanwhile.
    }
  }
  return out;
}
