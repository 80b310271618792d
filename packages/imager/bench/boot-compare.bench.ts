// Issue 7 boot figure, measured in one run: a minimal Debian 12 with systemd (debootstrap minbase)
// booted to its first systemd unit line, next to our `fast` image booted to apid answering over
// mTLS. Both run under the same QEMU (TCG, 2 vCPUs, 1 GiB) with the same kernel (the host's
// /boot/vmlinuz-*); Debian gets the host's matching Debian initramfs to mount its ext4 root from
// virtio. The ratio (ours / Debian's) is the figure; the target is ≤ 1/3.
// The Debian root is built once and cached under _out/debian-min/<DEBIAN_KEY>/.
// Prints one JSON object ({ skipped } when the Debian root cannot be built here).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTalosClient,
  generateAdminTalosconfig,
  generateMachineConfigs,
  generateSecretsBundle,
  toConfigSecrets,
} from '@talos-ts/machinery';
import { bootVm, buildImage, USER_NET } from '@talos-ts/imager';
import { freeLoopbackPort } from '@talos-ts/testkit';
import { firstSuccess } from './poll.ts';

/** Bump when the recipe of the cached Debian root changes. */
const DEBIAN_KEY = 'bookworm-minbase-systemd-1';
const MIRROR = 'http://deb.debian.org/debian';
const BOOT_TIMEOUT_MS = 300_000;
/** systemd's status lines: the first one printed marks the first unit reached. */
const FIRST_UNIT = /(Started |Reached target )/;
const LOGIN = /(login:|Reached target .*Multi-User)/;

const repoRoot = new URL('../../..', import.meta.url).pathname;
const cacheDir = join(repoRoot, '_out', 'debian-min', DEBIAN_KEY);
const diskPath = join(cacheDir, 'root.ext4');
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;?]*[A-Za-z]`, 'g');
const stripAnsi = (s: string) => s.replace(ANSI, '');

function skip(reason: string): never {
  console.log(JSON.stringify({ skipped: reason }, null, 2));
  process.exit(0);
}

function runOk(cmd: string, args: string[], timeoutMs: number): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? String(r.error) : ''}` };
}

function hostKernel(): { vmlinuz: string; initrd: string } | undefined {
  const release = readdirSync('/boot').filter((n) => n.startsWith('vmlinuz-')).sort().at(-1)?.slice('vmlinuz-'.length);
  if (!release) return undefined;
  const vmlinuz = join('/boot', `vmlinuz-${release}`);
  const initrd = join('/boot', `initrd.img-${release}`);
  return existsSync(initrd) ? { vmlinuz, initrd } : undefined;
}

/** Builds the cached Debian ext4 disk if it is missing; returns a reason when it cannot. */
async function ensureDebianDisk(): Promise<string | undefined> {
  if (existsSync(diskPath)) return undefined;
  for (const tool of ['debootstrap', 'mkfs.ext4']) {
    if (!runOk('sh', ['-c', `command -v ${tool}`], 5000).ok) return `${tool} not installed (scripts/ensure-deps.sh)`;
  }
  const rootfs = join(cacheDir, 'rootfs');
  if (!existsSync(join(rootfs, '.complete'))) {
    try {
      const res = await fetch(`${MIRROR}/dists/bookworm/Release`, { signal: AbortSignal.timeout(15_000) });
      if (!res.ok) return `Debian mirror answered ${res.status}`;
    } catch (err) {
      return `Debian mirror unreachable: ${(err as Error).message}`;
    }
    rmSync(rootfs, { recursive: true, force: true });
    mkdirSync(cacheDir, { recursive: true });
    const r = runOk('debootstrap', ['--variant=minbase', '--include=systemd,systemd-sysv', 'bookworm', rootfs, MIRROR], 1_200_000);
    if (!r.ok) return `debootstrap failed: ${r.out.slice(-400)}`;
    writeFileSync(join(rootfs, 'etc', 'hostname'), 'debian-min\n');
    writeFileSync(join(rootfs, '.complete'), '');
  }
  const tmp = `${diskPath}.tmp`;
  rmSync(tmp, { force: true });
  const r = runOk('mkfs.ext4', ['-F', '-q', '-L', 'debroot', '-d', rootfs, tmp, '1G'], 300_000);
  if (!r.ok) return `mkfs.ext4 -d failed: ${r.out.slice(-400)}`;
  renameSync(tmp, diskPath);
  return undefined;
}

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of children) c.kill('SIGKILL');
});

/** Boots the Debian disk and times the first systemd unit line and the login prompt. */
async function bootDebian(kernel: { vmlinuz: string; initrd: string }): Promise<Record<string, unknown>> {
  // snapshot=on sends the guest's writes to a throwaway file, so the cached disk stays pristine.
  // Kernel messages stay quiet like ours; systemd still prints its unit status lines.
  const append = 'console=ttyS0 root=/dev/vda rw quiet systemd.show_status=1';
  const args = [
    '-accel', 'tcg', '-smp', '2', '-m', '1024',
    '-nographic', '-no-reboot', '-nodefaults', '-serial', 'stdio', '-monitor', 'none',
    '-kernel', kernel.vmlinuz, '-initrd', kernel.initrd,
    '-drive', `file=${diskPath},if=virtio,format=raw,snapshot=on`,
    '-device', 'virtio-rng-pci',
    '-append', append,
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const startedAt = Date.now();
  children.add(child);
  let text = '';
  const figures: Record<string, unknown> = {};
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`Debian did not reach a login prompt within ${BOOT_TIMEOUT_MS} ms; tail:\n${stripAnsi(text).slice(-2000)}`)), BOOT_TIMEOUT_MS);
      const onData = (chunk: Buffer): void => {
        text += chunk.toString('utf8');
        const clean = stripAnsi(text);
        if (figures.firstUnitMs === undefined) {
          const line = clean.split(/\r?\n/).find((l) => FIRST_UNIT.test(l));
          if (line !== undefined) {
            figures.firstUnitMs = Date.now() - startedAt;
            figures.firstUnitLine = line.trim();
          }
        }
        if (LOGIN.test(clean)) {
          figures.multiUserOrLoginMs = Date.now() - startedAt;
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`QEMU exited (${code}) during the Debian boot; tail:\n${stripAnsi(text).slice(-2000)}`));
      });
    });
  } catch (err) {
    // The first-unit figure stands even if the later login prompt never came.
    if (figures.firstUnitMs === undefined) throw err;
    figures.loginError = (err as Error).message.split('\n')[0];
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    children.delete(child);
  }
  return figures;
}


/** Builds and boots our `fast` image; times power-on → apid answering machine.version over mTLS. */
async function bootOurs(): Promise<Record<string, unknown>> {
  const out = mkdtempSync(join(tmpdir(), 'debcmp-ours-'));
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const configs = generateMachineConfigs({ clusterName: 'bench', endpoint: `https://${USER_NET.address}:6443`, secrets: toConfigSecrets(bundle), additionalSans: ['127.0.0.1'] });
  const configYaml = configs.controlplane.toYaml();
  const http = createServer((_req, res) => res.end(configYaml));
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const httpPort = (http.address() as { port: number }).port;
  const admin = await generateAdminTalosconfig({ contextName: 'bench', endpoints: ['127.0.0.1'], osCa: bundle.certs.os });
  const ctx = admin.contexts.bench as { ca: string; crt: string; key: string };
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  try {
    const image = await buildImage({ repoRoot, outDir: out, compression: 'fast' });
    const port = await freeLoopbackPort();
    const vm = bootVm(image.dir, { apiPort: port, kernelArgs: [`talos.config=http://${USER_NET.gateway}:${httpPort}/controlplane.yaml`] });
    children.add(vm.process);
    try {
      const answeredAt = await firstSuccess(
        async (signal) => {
          // A fresh client per attempt: a reused channel backs off between failed connects.
          const client = createTalosClient({ endpoints: [`127.0.0.1:${port}`], caPem: b64(ctx.ca), crtPem: b64(ctx.crt), keyPem: b64(ctx.key) });
          try {
            await client.machine.version({}, { signal });
          } finally {
            client.close();
          }
        },
        {
          beatMs: 250,
          attemptTimeoutMs: 10_000,
          totalTimeoutMs: BOOT_TIMEOUT_MS,
          check: () => (vm.process.exitCode !== null ? `QEMU exited during our boot; tail:\n${vm.console().slice(-2000)}` : undefined),
        },
      );
      return { powerOnToApiMtlsMs: answeredAt - vm.startedAt };
    } finally {
      await vm[Symbol.asyncDispose]();
      children.delete(vm.process);
    }
  } finally {
    http.close();
    rmSync(out, { recursive: true, force: true });
  }
}

const kernel = hostKernel();
if (!kernel) skip('no /boot/vmlinuz-* with a matching /boot/initrd.img-* (install linux-image-amd64)');
const t0 = Date.now();
const cached = existsSync(diskPath);
const reason = await ensureDebianDisk();
if (reason) skip(reason);

// Other VMs on the two shared cores skew TCG timings; the 1-minute load before each boot says how much.
const load1 = () => Math.round((loadavg()[0] ?? 0) * 100) / 100;
const debianLoad = load1();
const debian: Record<string, unknown> = { hostLoad1Before: debianLoad, ...(await bootDebian(kernel)) };
const oursLoad = load1();
const ours: Record<string, unknown> = { hostLoad1Before: oursLoad, ...(await bootOurs()) };
const oursMs = ours.powerOnToApiMtlsMs as number;
const debianMs = debian.firstUnitMs as number;
const ratio = Math.round((oursMs / debianMs) * 1000) / 1000;
console.log(
  JSON.stringify(
    {
      qemu: '-accel tcg -smp 2 -m 1024',
      kernel: kernel.vmlinuz,
      debian: { key: DEBIAN_KEY, diskCached: cached, diskPrepMs: cached ? 0 : Date.now() - t0, measuredTo: 'first systemd "Started "/"Reached target " line on ttyS0', ...debian },
      ours: { preset: 'fast', measuredTo: 'apid answering machine.version over mTLS', ...ours },
      ratioOursToDebianFirstUnit: ratio,
      targetRatio: Math.round((1 / 3) * 1000) / 1000,
      meetsTarget: ratio <= 1 / 3,
      ...(typeof debian.multiUserOrLoginMs === 'number' ? { ratioOursToDebianLogin: Math.round((oursMs / debian.multiUserOrLoginMs) * 1000) / 1000 } : {}),
    },
    null,
    2,
  ),
);
