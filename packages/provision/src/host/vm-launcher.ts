// A node's VM supervisor (`talos-vm-launcher`): runs QEMU with -no-reboot and starts it again
// whenever the guest resets, deciding per start how the VM boots: through the firmware from its
// install disk once that disk carries a partition table (SeaBIOS, then GRUB), else the live kernel
// and initramfs with the root SquashFS as a second drive. With -kernel, a reset inside one QEMU
// would boot the live kernel again, so an installed node could never reach its disk; upstream's
// qemu launcher makes the same per-start choice.

import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { decodeGpt, GPT_PRIMARY_SECTORS, SECTOR_BYTES } from '@talos-ts/machinery';

/** The image files a live boot needs (as the imager names them). */
const LIVE_FILES = { kernel: 'vmlinuz', kernelElf: 'vmlinux', initramfs: 'initramfs.img', rootfs: 'rootfs.sqsh' } as const;

/** Everything the launcher needs to start the VM, written by create as JSON beside the node's disk. */
export interface VmLaunchConfig {
  readonly imageDir: string;
  /** The tap device (already on the bridge) the VM's NIC uses. */
  readonly tap: string;
  readonly mac: string;
  /** The install disk: the first virtio disk (/dev/vda), raw, read-write. */
  readonly diskFile: string;
  /** Kernel arguments of a live boot (a disk boot takes GRUB's). */
  readonly kernelArgs: readonly string[];
  readonly memoryMiB: number;
  readonly cpus: number;
  /** QEMU's QMP socket: the launcher learns from it whether the guest reset or powered off. */
  readonly qmpSocket: string;
}

/**
 * True when the disk file holds a GPT with at least one partition, i.e. an install wrote it; a
 * blank (sparse) disk boots the live kernel instead.
 */
export function diskBootable(diskFile: string): boolean {
  let fd: number | undefined;
  try {
    fd = openSync(diskFile, 'r');
    const head = Buffer.alloc(GPT_PRIMARY_SECTORS * SECTOR_BYTES);
    readSync(fd, head, 0, head.length, 0);
    const gpt = decodeGpt(head);
    return 'value' in gpt && gpt.value.partitions.length > 0;
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * QEMU's arguments for one start. The install disk is always the first virtio disk, so it is
 * /dev/vda in both modes and `machine.install.disk` names it once; a live boot adds the root
 * SquashFS as /dev/vdb and tells the initramfs so with `talos.root=`.
 */
export function launchArgs(config: VmLaunchConfig, bootable: boolean): string[] {
  const accel = process.env.TALOS_QEMU_ACCEL ?? 'tcg';
  const live = bootable
    ? []
    : [
        // A `fast` image's uncompressed kernel boots through its PVH entry, skipping ~3.5 s of decompression under TCG.
        '-kernel', join(config.imageDir, existsSync(join(config.imageDir, LIVE_FILES.kernelElf)) ? LIVE_FILES.kernelElf : LIVE_FILES.kernel),
        '-initrd', join(config.imageDir, LIVE_FILES.initramfs),
        '-drive', `file=${join(config.imageDir, LIVE_FILES.rootfs)},if=virtio,format=raw,readonly=on`,
        '-append', [...config.kernelArgs, 'talos.root=/dev/vdb'].join(' '),
      ];
  return [
    '-accel', accel, '-smp', String(config.cpus), '-m', String(config.memoryMiB),
    '-nographic', '-nodefaults', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-qmp', `unix:${config.qmpSocket},server=on,wait=off`,
    '-drive', `file=${config.diskFile},if=virtio,format=raw`,
    ...live,
    '-netdev', `tap,id=n0,ifname=${config.tap},script=no,downscript=no`,
    '-device', `virtio-net-pci,netdev=n0,mac=${config.mac}`,
    '-device', 'virtio-rng-pci',
  ];
}

/** Why QEMU stopped, from QMP's SHUTDOWN event: `guest-reset`, `guest-shutdown`, `host-signal`, … */
type ShutdownReason = string | undefined;

/**
 * Follows QMP until QEMU goes away and keeps the reason of its last SHUTDOWN event. QEMU creates
 * the socket shortly after it starts, so the connect is retried for a bounded while.
 */
function watchShutdownReason(socketPath: string, signal: AbortSignal): { reason: () => ShutdownReason } {
  let reason: ShutdownReason;
  let sock: Socket | undefined;
  let buffered = '';
  const attempt = (left: number): void => {
    if (signal.aborted) return;
    sock = connect(socketPath);
    sock.setEncoding('utf8');
    sock.once('connect', () => sock?.write('{"execute":"qmp_capabilities"}\n'));
    sock.on('data', (chunk: string) => {
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        try {
          const msg = JSON.parse(line) as { event?: string; data?: { reason?: string } };
          if (msg.event === 'SHUTDOWN') reason = msg.data?.reason ?? 'unknown';
        } catch {
          // not JSON: ignore
        }
      }
    });
    sock.once('error', () => {
      sock?.destroy();
      if (left > 0 && !signal.aborted) setTimeout(() => attempt(left - 1), 100).unref();
    });
  };
  attempt(100);
  signal.addEventListener('abort', () => sock?.destroy(), { once: true });
  return { reason: () => reason };
}

/** What one QEMU run ended with. */
interface RunResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly reason: ShutdownReason;
  readonly ms: number;
}

/** A guest resetting this often, this fast, is in a boot loop the launcher stops (bounded relaunches). */
const FAST_RESET_MS = 10_000;
const MAX_FAST_RESETS = 10;

/**
 * The launcher program: `talos-vm-launcher --config FILE`. QEMU's console goes to this process's
 * stdout (the node's log file). Exits with QEMU's code when QEMU fails, 0 when the guest powers off
 * or on SIGTERM (which stops QEMU first).
 */
export async function vmLauncherMain(argv: readonly string[]): Promise<number> {
  const i = argv.indexOf('--config');
  const file = i >= 0 ? argv[i + 1] : undefined;
  if (!file) {
    process.stderr.write('talos-vm-launcher: usage: talos-vm-launcher --config FILE\n');
    return 2;
  }
  const config = JSON.parse(readFileSync(file, 'utf8')) as VmLaunchConfig;
  const say = (line: string): void => void process.stdout.write(`talos-vm-launcher: ${line}\n`);
  let stopping = false;
  let current: ReturnType<typeof spawn> | undefined;
  const stop = (): void => {
    stopping = true;
    current?.kill('SIGTERM');
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  let fastResets = 0;
  for (let run = 0; ; run++) {
    const bootable = diskBootable(config.diskFile);
    if (run > 0) say(`guest reset: starting QEMU again, booting ${bootable ? 'the install disk through the firmware' : 'the live kernel'}`);
    rmSync(config.qmpSocket, { force: true });
    const started = Date.now();
    const child = spawn('qemu-system-x86_64', launchArgs(config, bootable), { stdio: ['ignore', 'inherit', 'inherit'] });
    current = child;
    const qmp = new AbortController();
    const watcher = watchShutdownReason(config.qmpSocket, qmp.signal);
    const result = await new Promise<RunResult>((resolve) => {
      child.once('error', (err) => {
        process.stderr.write(`qemu: ${err.message}\n`);
        resolve({ code: 127, signal: null, reason: undefined, ms: Date.now() - started });
      });
      child.once('exit', (code, signal) => resolve({ code, signal, reason: watcher.reason(), ms: Date.now() - started }));
    });
    qmp.abort();
    current = undefined;
    if (stopping) return 0;
    // QEMU itself failed (bad image, a tap in use) or was killed: nothing to restart.
    if (result.signal !== null) return 1;
    if (result.code !== 0) return result.code ?? 1;
    // A poweroff stays off (`talosctl shutdown`); a reset, or an end QMP did not explain, boots again.
    if (result.reason === 'guest-shutdown' || result.reason === 'host-signal' || result.reason === 'host-qmp-quit') {
      say(`guest stopped (${result.reason}): not starting it again`);
      return 0;
    }
    fastResets = result.ms < FAST_RESET_MS ? fastResets + 1 : 0;
    if (fastResets >= MAX_FAST_RESETS) {
      say(`guest reset ${fastResets} times within ${FAST_RESET_MS / 1000} s of starting: giving up`);
      return 1;
    }
  }
}
