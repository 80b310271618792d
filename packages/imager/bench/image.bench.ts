// Issue 7 figures: image sizes per compression preset (and build time), power-on → apid answering
// over mTLS for each preset under QEMU TCG (config handed over with talos.config=, served on the
// host and reached through QEMU's user network), and the idle memory of our processes in the VM
// (machined's console memory report) and of the whole guest (MemTotal - MemAvailable).
// The boot timeline comes from the console: /init and machined start each line with the guest's
// uptime, so each step is placed on the kernel's clock; "kernelStartMs" places the kernel's start
// on the host's clock (power-on = 0), from the first such line's host arrival time.
// Prints one JSON object.
import { freeLoopbackPort } from '@talos-ts/testkit';
import { firstSuccess } from './poll.ts';
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTalosClient,
  generateAdminTalosconfig,
  generateMachineConfigs,
  generateSecretsBundle,
  toConfigSecrets,
} from '@talos-ts/machinery';
import { bootVm, buildImage, USER_NET, type CompressionPreset } from '@talos-ts/imager';

const repoRoot = new URL('../../..', import.meta.url).pathname;
const out = mkdtempSync(join(tmpdir(), 'imager-bench-'));
const MB = (n: number) => Math.round((n / 1e6) * 10) / 10;
const result: Record<string, unknown> = {};

const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
const configs = generateMachineConfigs({ clusterName: 'bench', endpoint: `https://${USER_NET.address}:6443`, secrets: toConfigSecrets(bundle), additionalSans: ['127.0.0.1'] });
const configYaml = configs.controlplane.toYaml();
const http = createServer((_req, res) => res.end(configYaml));
await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
const httpPort = (http.address() as { port: number }).port;
const admin = await generateAdminTalosconfig({ contextName: 'bench', endpoints: ['127.0.0.1'], osCa: bundle.certs.os });
const ctx = admin.contexts.bench as { ca: string; crt: string; key: string };
const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

const ESCAPES = new RegExp(`${String.fromCharCode(27)}(\\[[0-9;?]*[A-Za-z]|c)`, 'g');

/** Console milestones of a boot, first match wins: [name, pattern]. */
const MILESTONES: ReadonlyArray<readonly [string, RegExp]> = [
  ['initStarted', /\[init\] started/],
  ['initModulesLoaded', /\[init\] loaded \d+ modules/],
  ['rootMounted', /\[init\] mounted /],
  ['execMachined', /\[init\] starting machined/],
  ['machinedStarted', /machined: starting on metal/],
  ['systemMounted', /system mounts ready/],
  ['modulesLoaded', /kernel modules loaded/],
  ['machinePrepared', /machined: machine prepared/],
  ['nodeUp', /machined: node is up/],
  ['apidStarting', /"service":"apid".*"state":"(Preparing|Starting|Running)"/],
  ['apidRunning', /"service":"apid".*"state":"Running"/],
  ['apidHealthy', /Health check successful.*"service":"apid"/],
];

/** The timeline of a boot: uptime (s) of each milestone and where the kernel started on the host clock. */
function timelineOf(lines: ReadonlyArray<{ atMs: number; text: string }>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const { atMs, text } of lines) {
    // The firmware's escapes and its last line (no newline) can precede /init's first line.
    const m = /\[\s*(\d+\.\d+)\] (?:\[init\]|machined:|\d\d:\d\d:)/.exec(text.replace(ESCAPES, ''));
    if (!m?.[1]) continue;
    const uptimeS = Number(m[1]);
    if (out.kernelStartMs === undefined) out.kernelStartMs = Math.round(atMs - uptimeS * 1000);
    for (const [name, re] of MILESTONES) if (out[name] === undefined && re.test(text)) out[name] = uptimeS;
  }
  return out;
}


try {
  // Knobs for quick runs: TALOS_BENCH_PRESETS=fast, TALOS_BENCH_SKIP_IDLE=1, TALOS_BENCH_KERNEL_ARGS='…',
  // TALOS_BENCH_NODE_FLAGS=--a,--b (the image's Node flags), TALOS_BENCH_CONSOLE=1.
  const presets = (process.env.TALOS_BENCH_PRESETS ?? 'fast,small').split(',') as CompressionPreset[];
  for (const preset of presets) {
    const t0 = Date.now();
    const nodeFlags = (process.env.TALOS_BENCH_NODE_FLAGS ?? '').split(',').filter(Boolean);
    const image = await buildImage({ repoRoot, outDir: join(out, preset), compression: preset, reuseBuild: preset !== presets[0], nodeFlags });
    const a = image.manifest.artifacts;
    const figures: Record<string, unknown> = {
      buildMs: Date.now() - t0,
      rootfsMB: MB(a['rootfs.sqsh']?.sizeBytes ?? 0),
      initramfsMB: MB(a['initramfs.img']?.sizeBytes ?? 0),
      kernelMB: MB(a.vmlinuz?.sizeBytes ?? 0),
      compression: image.manifest.compression,
    };

    const port = await freeLoopbackPort();
    const lines: Array<{ atMs: number; text: string }> = [];
    const vm = bootVm(image.dir, {
      apiPort: port,
      kernelArgs: [`talos.config=http://${USER_NET.gateway}:${httpPort}/controlplane.yaml`, ...(process.env.TALOS_BENCH_KERNEL_ARGS ?? '').split(' ').filter(Boolean)],
      onConsoleLine: (text) => lines.push({ atMs: Date.now() - vm.startedAt, text }),
    });
    try {
      const newClient = () => createTalosClient({ endpoints: [`127.0.0.1:${port}`], caPem: b64(ctx.ca), crtPem: b64(ctx.crt), keyPem: b64(ctx.key) });
      const answeredAt = await firstSuccess(
        async (signal) => {
          // A fresh client per attempt: a reused channel backs off between failed connects.
          const attempt = newClient();
          try {
            await attempt.machine.version({}, { signal });
          } finally {
            attempt.close();
          }
        },
        { beatMs: 250, attemptTimeoutMs: 10_000, totalTimeoutMs: 300_000, check: () => (vm.process.exitCode !== null ? 'QEMU exited during the boot' : undefined) },
      ).catch(() => NaN);
      const apiMs = answeredAt - vm.startedAt;
      const client = newClient();
      figures.powerOnToApiMtlsMs = apiMs;
      const timeline = timelineOf(lines);
      figures.timelineUptimeS = { ...timeline, apiMtlsAnswered: Math.round((apiMs - (timeline.kernelStartMs ?? 0)) / 10) / 100 };
      if (process.env.TALOS_BENCH_CONSOLE) figures.console = lines.map((l) => `${l.atMs} ${l.text}`);
      if (preset === 'fast' && process.env.TALOS_BENCH_SKIP_IDLE !== '1') {
        // Idle: let the boot settle, then read the memory report machined logs every 30 s.
        await new Promise((r) => setTimeout(r, 35_000));
        // machined prints a memory report on the console every 30 s.
        const reports = vm.console().split('\n').filter((l) => l.includes('resident memory'));
        const last = reports.at(-1);
        const json = last?.slice(last.indexOf('{'));
        if (json) figures.idleRssMB = Object.fromEntries(Object.entries((JSON.parse(json) as { bytes: Record<string, number> }).bytes).map(([k, v]) => [k, MB(v)]));
        const mem = await client.machine.memory({}, {});
        const info = mem.messages[0]?.meminfo as unknown as Record<string, bigint> | undefined;
        if (info) figures.guestMemUsedMB = MB(Number(((info.memtotal ?? 0n) - (info.memavailable ?? 0n)) * 1024n));
      }
      client.close?.();
    } finally {
      await vm[Symbol.asyncDispose]();
    }
    result[preset] = figures;
  }
} finally {
  http.close();
  rmSync(out, { recursive: true, force: true });
}
console.log(JSON.stringify(result, null, 2));
