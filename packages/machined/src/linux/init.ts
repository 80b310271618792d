import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCmdline } from './cmdline.ts';
import { loadModules } from './kmod.ts';
import { readModuleIndex } from './modules.ts';
import { MountFlags, native } from './native.ts';

/**
 * The initramfs /init (bundled as CommonJS, started by the kernel through its `#!/usr/bin/node`
 * line): finds the SquashFS root, switches into it and replaces itself with machined. PID 1 must
 * never return, so every failure ends in a console message and a reboot.
 */

const NEW_ROOT = '/root';
const MACHINED = '/usr/lib/talos/machined.mjs';

function say(line: string): void {
  process.stdout.write(`[init] ${line}\n`);
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitFor(path: string, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (!existsSync(path)) {
    if (Date.now() > deadline) return false;
    sleepMs(50);
  }
  return true;
}

function mountEarly(): void {
  const n = native();
  const nosuid = MountFlags.NOSUID | MountFlags.NODEV | MountFlags.NOEXEC;
  for (const d of ['/proc', '/sys', '/dev', NEW_ROOT]) mkdirSync(d, { recursive: true });
  n.mount('proc', '/proc', 'proc', nosuid);
  n.mount('sysfs', '/sys', 'sysfs', nosuid);
  n.mount('devtmpfs', '/dev', 'devtmpfs', MountFlags.NOSUID, 'mode=0755');
}

/** Deletes the initramfs' files (as switch_root does) so their memory comes back; skips mount points. */
function freeInitramfs(): void {
  const rootDev = statSync('/').dev;
  for (const name of readdirSync('/')) {
    const p = join('/', name);
    try {
      if (statSync(p).dev !== rootDev) continue;
      rmSync(p, { recursive: true, force: true });
    } catch {
      // Best effort: a file left behind only costs memory.
    }
  }
}

function boot(): void {
  mountEarly();
  const args = parseCmdline(readFileSync('/proc/cmdline', 'utf8'));
  const release = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const modDir = join('/lib/modules', release);
  const loaded = loadModules(modDir, readModuleIndex(modDir), ['virtio_pci', 'virtio_blk', 'squashfs']);
  say(`loaded ${loaded.length} modules`);

  const device = args.get('talos.root') ?? '/dev/vda';
  if (!waitFor(device, 15_000)) throw new Error(`root device ${device} did not appear`);
  const n = native();
  n.mount(device, NEW_ROOT, 'squashfs', MountFlags.RDONLY);
  say(`mounted ${device} (squashfs, read-only) on ${NEW_ROOT}`);
  for (const d of ['/dev', '/proc', '/sys']) n.mount(d, join(NEW_ROOT, d), null, MountFlags.MOVE);

  freeInitramfs();
  process.chdir(NEW_ROOT);
  n.mount(NEW_ROOT, '/', null, MountFlags.MOVE);
  n.chroot('.');
  process.chdir('/');

  const platform = args.get('talos.platform') ?? 'metal';
  const env = ['NO_COLOR=1', 'PATH=/usr/bin:/usr/sbin', 'HOME=/', 'TALOS_NATIVE_ADDON=/usr/lib/talos/talos_native.node'];
  say(`starting machined --platform ${platform}`);
  n.execve('/usr/bin/node', ['/usr/bin/node', MACHINED, '--platform', platform], env);
}

/** Runs /init; on failure prints why and reboots after `delayMs`. */
export function runInit(delayMs = 10_000): void {
  try {
    boot();
  } catch (err) {
    say(`fatal: ${(err as Error).stack ?? String(err)}`);
    say(`rebooting in ${delayMs / 1000} s`);
    sleepMs(delayMs);
    try {
      native().reboot('restart');
    } catch {
      // Nothing left to do: keep PID 1 alive rather than panic the kernel.
    }
    for (;;) sleepMs(60_000);
  }
}
