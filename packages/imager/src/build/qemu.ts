import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { join } from 'node:path';
import { TALOS_API_PORT } from '@talos-ts/machinery';
import { ArtifactName, KERNEL_ELF } from '../manifest.ts';

/** Options of {@link bootVm}. */
export interface BootVmOptions {
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Host loopback port forwarded to the guest's apid (:50000). */
  readonly apiPort: number;
  /** Extra kernel arguments (after console and ip=). */
  readonly kernelArgs?: readonly string[];
  /** Receives every console line. */
  readonly onConsoleLine?: (line: string) => void;
  /** More virtio disks (raw files, read-write) after the root: /dev/vdb, /dev/vdc, … */
  readonly extraDisks?: readonly string[];
  /** Guest connections to `guestAddress:guestPort` (on QEMU's user network) go to this host address and port. */
  readonly guestForwards?: ReadonlyArray<GuestForward>;
  /**
   * More NICs after the user-network one (eth1, eth2, …), each attached to an existing host tap device
   * of this name (create it persistent beforehand; the caller may move it into a namespace once QEMU holds it).
   */
  readonly taps?: readonly string[];
}

/**
 * A guest → host TCP forward (QEMU's guestfwd): guest connections to guestAddress:guestPort run
 * `command` (a shell command line), its stdin/stdout carrying the connection; one per connection,
 * which guestfwd's plain tcp: form does not do.
 */
export interface GuestForward {
  readonly guestAddress: string;
  readonly guestPort: number;
  readonly command: string;
}

function guestForwardArgs(forwards: ReadonlyArray<GuestForward> | undefined): string[] {
  return (forwards ?? []).map((f) => {
    // QEMU's option syntax doubles commas inside a value.
    return `guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:${f.command.replaceAll(',', ',,')}`;
  });
}

/** A running VM: its console so far, a wait for a console line, and disposal that kills QEMU. */
export interface RunningVm extends AsyncDisposable {
  readonly process: ChildProcess;
  readonly startedAt: number;
  console(): string;
  /**
   * Resolves with the first console line matching `re`. Lines already seen count, from console
   * offset `since` on (default 0: all of them; pass `console().length` to wait for a new one).
   */
  waitForLine(re: RegExp, options: { timeoutMs: number; signal?: AbortSignal; since?: number }): Promise<string>;
}

/** True when /dev/kvm can be opened; otherwise QEMU has to emulate (TCG). */
export function kvmUsable(): boolean {
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** The address and kernel arguments of QEMU's user-mode network (guest 10.0.2.15). */
export const USER_NET = { address: '10.0.2.15', gateway: '10.0.2.2', dns: '10.0.2.3' } as const;

/**
 * Boots an image directory under QEMU with user-mode networking; the guest's apid port is forwarded
 * to 127.0.0.1:apiPort, so nothing leaves loopback. The root is a read-only virtio disk.
 */
export function bootVm(imageDir: string, options: BootVmOptions): RunningVm {
  const append = [
    'console=ttyS0',
    'quiet',
    `ip=${USER_NET.address}::${USER_NET.gateway}:255.255.255.0:talos-vm:eth0:off:${USER_NET.dns}`,
    'talos.platform=metal',
    ...(options.kernelArgs ?? []),
  ].join(' ');
  // KVM is probed, but on these machines it fails at run time, so TCG stays the default unless asked.
  const accel = process.env.TALOS_QEMU_ACCEL ?? (kvmUsable() && process.env.TALOS_QEMU_KVM === '1' ? 'kvm' : 'tcg');
  const args = [
    '-accel', accel, '-smp', String(options.cpus ?? 2), '-m', String(options.memoryMiB ?? 1024),
    '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio', '-monitor', 'none',
    // A `fast` image's vmlinux boots through its PVH entry without the bzImage's decompression.
    '-kernel', join(imageDir, existsSync(join(imageDir, KERNEL_ELF)) ? KERNEL_ELF : ArtifactName.kernel),
    '-initrd', join(imageDir, ArtifactName.initramfs),
    '-drive', `file=${join(imageDir, ArtifactName.rootfs)},if=virtio,format=raw,readonly=on`,
    ...(options.extraDisks ?? []).flatMap((d) => ['-drive', `file=${d},if=virtio,format=raw`]),
    '-netdev', [`user,id=n0,hostfwd=tcp:127.0.0.1:${options.apiPort}-:${TALOS_API_PORT}`, ...guestForwardArgs(options.guestForwards)].join(','),
    '-device', 'virtio-net-pci,netdev=n0',
    ...(options.taps ?? []).flatMap((ifname, i) => [
      '-netdev', `tap,id=t${i},ifname=${ifname},script=no,downscript=no`,
      // Fixed MACs keep the guest's NIC order and the DHCP leases readable.
      '-device', `virtio-net-pci,netdev=t${i},mac=52:54:00:30:00:${(i + 1).toString(16).padStart(2, '0')}`,
    ]),
    '-device', 'virtio-rng-pci',
    '-append', append,
  ];
  return startQemu(args, options.onConsoleLine);
}

/** Options of {@link bootDiskVm}. */
export interface BootDiskVmOptions {
  readonly memoryMiB?: number;
  readonly cpus?: number;
  /** Host loopback port forwarded to the guest's apid (:50000). */
  readonly apiPort: number;
  /** Host address of the forward (default 127.0.0.1). */
  readonly apiHost?: string;
  /** More loopback forwards to guest ports (e.g. etcd's 2379), on the same host address. */
  readonly extraForwards?: ReadonlyArray<{ readonly hostPort: number; readonly guestPort: number }>;
  /** Exit QEMU when the guest reboots instead of booting it again (default false: a reboot goes through the firmware again). */
  readonly noReboot?: boolean;
  /** Guest → host TCP forwards (e.g. the HTTP server of the images an upgrade fetches). */
  readonly guestForwards?: ReadonlyArray<GuestForward>;
  readonly onConsoleLine?: (line: string) => void;
}

/**
 * Boots a disk image the way a machine does: SeaBIOS reads the MBR, GRUB loads the slot's kernel
 * and initramfs from BOOT. No -kernel. The disk is opened read-write (pass a copy).
 */
export function bootDiskVm(diskPath: string, options: BootDiskVmOptions): RunningVm {
  const accel = process.env.TALOS_QEMU_ACCEL ?? (kvmUsable() && process.env.TALOS_QEMU_KVM === '1' ? 'kvm' : 'tcg');
  const args = [
    '-accel', accel, '-smp', String(options.cpus ?? 2), '-m', String(options.memoryMiB ?? 1024),
    '-nographic', ...(options.noReboot ? ['-no-reboot'] : []), '-nodefaults', '-serial', 'stdio', '-monitor', 'none',
    '-drive', `file=${diskPath},if=virtio,format=raw`,
    '-netdev', [
      'user,id=n0',
      ...[{ hostPort: options.apiPort, guestPort: 50000 }, ...(options.extraForwards ?? [])].map((f) => `hostfwd=tcp:${options.apiHost ?? '127.0.0.1'}:${f.hostPort}-:${f.guestPort}`),
      ...guestForwardArgs(options.guestForwards),
    ].join(','),
    '-device', 'virtio-net-pci,netdev=n0',
    '-device', 'virtio-rng-pci',
  ];
  return startQemu(args, options.onConsoleLine);
}

function startQemu(args: readonly string[], onConsoleLine?: (line: string) => void): RunningVm {
  const child = spawn('qemu-system-x86_64', [...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const startedAt = Date.now();
  let text = '';
  let partial = '';
  const waiters = new Set<(line: string) => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    partial += chunk.toString('utf8');
    const lines = partial.split(/\r?\n/);
    partial = lines.pop() ?? '';
    for (const l of lines) {
      onConsoleLine?.(l);
      for (const w of waiters) w(l);
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    process: child,
    startedAt,
    console: () => text,
    waitForLine(re, { timeoutMs, signal, since = 0 }) {
      const seen = text.slice(since).split(/\r?\n/).find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = (fn: () => void): void => {
          clearTimeout(timer);
          waiters.delete(w);
          signal?.removeEventListener('abort', onAbort);
          fn();
        };
        const w = (l: string): void => {
          if (re.test(l)) done(() => resolve(l));
        };
        const onAbort = (): void => done(() => reject(signal?.reason as Error));
        const timer = setTimeout(() => done(() => reject(new Error(`no console line matching ${re} within ${timeoutMs} ms; console tail:\n${text.slice(-3000)}`))), timeoutMs);
        waiters.add(w);
        signal?.addEventListener('abort', onAbort, { once: true });
        void exited.then(() => done(() => reject(new Error(`QEMU exited before ${re}; console tail:\n${text.slice(-3000)}`))));
      });
    },
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
