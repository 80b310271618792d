import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@talos-ts/cosi';
import type { NetworkControllersOptions } from '../controllers/network/index.ts';
import { writeFileAtomic } from '../system/atomic-file.ts';
import { MountFlags, UmountFlags, native } from './native.ts';
import { openDhcp4Socket, openDhcp6Socket } from './dhcp4-socket.ts';
import { openNetworkKernel } from './rtnetlink.ts';

/** Options of {@link hostNetworkOptions}. */
export interface HostNetworkOptions {
  readonly platform: 'container' | 'metal';
  /** machined owns the network namespace it runs in (always true on metal). */
  readonly ownsNetwork: boolean;
  /** The namespace to observe and configure; default machined's own. */
  readonly netnsPath?: string;
  /** Container mode, owning the namespace: the kernel command line the node stands in for. */
  readonly cmdline?: string;
  readonly defaultHostname: string;
  /** Where /etc files go in container mode (`<state>/system/etc`); metal uses /system/etc. */
  readonly etcDir: string;
  readonly logger: Logger;
  /** The VIP operator's etcd and release hooks. */
  readonly vip?: NetworkControllersOptions['vip'];
}

function addonLoads(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}

/**
 * What the network controllers get from this host. Metal: the kernel command line, the kernel's
 * hostname, /etc/hosts and /etc/resolv.conf written under /system/etc and bind-mounted over /etc,
 * and links, addresses and routes applied. Container mode: the host network is only observed (when
 * the addon is built) and the /etc files go to the state directory, unless the node owns its namespace.
 */
export async function hostNetworkOptions(options: HostNetworkOptions): Promise<NetworkControllersOptions> {
  const metal = options.platform === 'metal';
  const observe = addonLoads();
  if (!observe) options.logger.warn('native addon not built: network statuses are not observed');
  const etcDir = metal ? '/system/etc' : options.etcDir;
  return {
    defaultHostname: options.defaultHostname,
    cmdline: metal ? await readFile('/proc/cmdline', 'utf8').catch(() => '') : options.ownsNetwork ? (options.cmdline ?? '') : '',
    ...(observe ? { openKernel: () => openNetworkKernel(options.netnsPath ? { netnsPath: options.netnsPath } : {}) } : {}),
    ownsNetwork: observe && (metal || options.ownsNetwork),
    ...(observe
      ? {
          openDhcpTransport: (operator: 'dhcp4' | 'dhcp6', ifname: string, hardwareAddress: Buffer) =>
            (operator === 'dhcp4' ? openDhcp4Socket : openDhcp6Socket)({ ifname, hardwareAddress, ...(options.netnsPath ? { netnsPath: options.netnsPath } : {}) }),
        }
      : {}),
    ...(observe && options.vip ? { vip: options.vip } : {}),
    ...(observe ? { announce: (link: string, ip: string) => native().arpAnnounce(link, ip, options.netnsPath ?? null) } : {}),
    ...(metal ? { setKernelHostname: (name: string) => native().sethostname(name) } : {}),
    writeEtcFile: async (name, content) => {
      await mkdir(etcDir, { recursive: true });
      const source = join(etcDir, name);
      await writeFileAtomic(source, content, { mode: 0o644 });
      // The rename gave the file a new inode; the bind mount on /etc still shows the old one.
      if (metal) await rebind(source, `/etc/${name}`);
    },
  };
}

async function isMountPoint(target: string): Promise<boolean> {
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  return mounts.split('\n').some((l) => l.split(' ')[1] === target);
}

async function rebind(source: string, target: string): Promise<void> {
  if (await isMountPoint(target)) native().umount2(target, UmountFlags.DETACH);
  native().mount(source, target, null, MountFlags.BIND);
}
