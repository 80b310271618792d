// Issue 12 benchmark: N upgrade/rollback cycles on one VM booted from disk.raw (SeaBIOS → GRUB),
// half of them with a new slot that fails to boot (a kernel argument that panics it). A good cycle
// upgrades to version B and rolls back to A; a failing cycle upgrades to the broken image and the
// machine must come back on A by itself. Prints one JSON object: cycles, nodes left unbootable
// (must be 0), the median API call → new version answering, the median failed boot (kernel panic
// on the console) → old version answering, and the rollback figure.
//
// UPGRADE_BENCH_CYCLES (default 20); UPGRADE_BENCH_IMAGES=DIR reuses images built there (a/ with
// disk.raw, b/ version 0.2.0 signed by the same key, signing-key.pem; test/integration/
// vm-upgrade.test.ts lays out TALOS_VM_UPGRADE_IMAGES the same way).
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createTalosClient, generateAdminTalosconfig, generateMachineConfigs, generateSecretsBundle, machinePb, privateKeyFromPem, toConfigSecrets, type TalosClient,
} from '@talos-ts/machinery';
import { bootDiskVm, buildImage, DISK_IMAGE, encodeManifest, MANIFEST_FILE, SIGNATURE_FILE, signManifest, USER_NET, type ImageManifest } from '@talos-ts/imager';
import { freeLoopbackPort } from '@talos-ts/testkit';

const cycles = Number(process.env.UPGRADE_BENCH_CYCLES ?? 20);
const repoRoot = new URL('../../..', import.meta.url).pathname;
const imagesDir = process.env.UPGRADE_BENCH_IMAGES ?? join(repoRoot, '_out', 'upgrade-bench');
const HOST = '127.0.33.20';
const SERVED = '10.0.2.100';
const BOOT_TIMEOUT_MS = 600_000;
const ipArg = `ip=${USER_NET.address}::${USER_NET.gateway}:255.255.255.0:talos-vm:eth0:off:${USER_NET.dns}`;

function builtDir(outDir: string): string | undefined {
  if (!existsSync(outDir)) return undefined;
  const d = readdirSync(outDir).find((n) => n.startsWith('talos-ts-') && existsSync(join(outDir, n, MANIFEST_FILE)));
  return d ? join(outDir, d) : undefined;
}

async function images(): Promise<{ a: string; b: string; keyPem: string }> {
  mkdirSync(imagesDir, { recursive: true });
  const keyFile = join(imagesDir, 'signing-key.pem');
  let a = builtDir(join(imagesDir, 'a'));
  if (!a || !existsSync(keyFile)) {
    const built = await buildImage({ repoRoot, outDir: join(imagesDir, 'a'), compression: 'fast', extraKernelArgs: [ipArg, 'quiet'] });
    a = built.dir;
    writeFileSync(keyFile, built.generatedKeyPem ?? '', { mode: 0o600 });
  }
  const keyPem = readFileSync(keyFile, 'utf8');
  const b = builtDir(join(imagesDir, 'b')) ?? (await buildImage({ repoRoot, outDir: join(imagesDir, 'b'), compression: 'fast', version: '0.2.0', signingKeyPem: keyPem, extraKernelArgs: [ipArg, 'quiet'], disk: false, reuseBuild: true })).dir;
  return { a, b, keyPem };
}

const median = (xs: readonly number[]): number | null => {
  if (xs.length === 0) return null;
  const s = [...xs].sort((x, y) => x - y);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : Math.round(((s[m - 1] as number) + (s[m] as number)) / 2);
};

const { a, b, keyPem } = await images();
const manifestB = JSON.parse(readFileSync(join(b, MANIFEST_FILE), 'utf8')) as ImageManifest;
const broken = encodeManifest({ ...manifestB, extraKernelArgs: [...(manifestB.extraKernelArgs ?? []), 'rdinit=/nonexistent'] });
const brokenSig = signManifest(broken, privateKeyFromPem(keyPem).privateKey);
const http = createServer((req, res) => {
  const m = /^\/(b|broken)\/([^/]+)$/.exec(req.url ?? '');
  const file = m ? join(b, m[2] ?? '') : '';
  if (!m || !existsSync(file)) return void res.writeHead(404).end();
  if (m[1] === 'broken' && m[2] === MANIFEST_FILE) return void res.end(broken);
  if (m[1] === 'broken' && m[2] === SIGNATURE_FILE) return void res.end(brokenSig);
  res.setHeader('content-length', statSync(file).size);
  createReadStream(file).pipe(res);
});
await new Promise<void>((r) => http.listen(0, HOST, r));
const httpPort = (http.address() as { port: number }).port;

const work = mkdtempSync(join(tmpdir(), 'upgrade-bench-'));
const disk = join(work, 'disk.raw');
// Sparse: disk.raw is 6 GiB of mostly holes (copyFileSync would write them all out).
execFileSync('cp', ['--sparse=always', join(a, DISK_IMAGE), disk]);
const apiPort = await freeLoopbackPort();
const vm = bootDiskVm(disk, {
  apiPort,
  apiHost: HOST,
  guestForwards: [{ guestAddress: SERVED, guestPort: 80, command: `${process.execPath} ${join(repoRoot, 'test/integration/testdata/tcp-relay.mjs')} ${HOST} ${httpPort}` }],
});
const figures: Record<string, unknown> = { cycles, loadavg1: loadavg()[0] };
const upgradeMs: number[] = [];
const rollbackMs: number[] = [];
const failedBootMs: number[] = [];
let unbootable = 0;
let done = 0;
try {
  await vm.waitForLine(/machined: node is up/, { timeoutMs: BOOT_TIMEOUT_MS });
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const configs = generateMachineConfigs({ clusterName: 'upg2-bench', endpoint: `https://${USER_NET.address}:6443`, secrets: toConfigSecrets(bundle), additionalSans: [HOST] });
  const insecure = createTalosClient({ endpoints: [`${HOST}:${apiPort}`], insecure: true });
  try {
    await insecure.machine.applyConfiguration({ data: Buffer.from(configs.controlplane.toYaml()), mode: machinePb.ApplyConfigurationRequest_Mode.AUTO });
  } finally {
    insecure.close();
  }
  const admin = await generateAdminTalosconfig({ contextName: 'bench', endpoints: [HOST], osCa: bundle.certs.os });
  const ctx = admin.contexts.bench as { ca: string; crt: string; key: string };
  const b64 = (s: string): string => Buffer.from(s, 'base64').toString('utf8');
  const withClient = async <T>(fn: (c: TalosClient) => Promise<T>): Promise<T> => {
    const c = createTalosClient({ endpoints: [`${HOST}:${apiPort}`], caPem: b64(ctx.ca), crtPem: b64(ctx.crt), keyPem: b64(ctx.key) });
    try {
      return await fn(c);
    } finally {
      c.close();
    }
  };
  /** Polls the node's version until it reports `tag`; resolves with the time it did, or undefined on timeout. */
  const waitTag = async (tag: string): Promise<number | undefined> => {
    const deadline = Date.now() + BOOT_TIMEOUT_MS;
    while (Date.now() < deadline) {
      try {
        const v = await withClient((c) => c.machine.version({}, { signal: AbortSignal.timeout(10_000) }));
        if (v.messages[0]?.version?.tag === tag) return Date.now();
      } catch {
        // Down or not back yet.
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    return undefined;
  };
  if ((await waitTag('v0.1.0')) === undefined) throw new Error('the node never answered over mTLS after its config');
  for (let i = 0; i < cycles; i++) {
    const failing = i % 2 === 1;
    const mark = vm.console().length;
    const t0 = Date.now();
    await withClient((c) => c.machine.upgrade({ image: `http://${SERVED}/${failing ? 'broken' : 'b'}/`, preserve: true }));
    if (failing) {
      // Any panic of the tried slot (its own, or TCG's "IO-APIC + timer" on a loaded host) is its failed boot.
      await vm.waitForLine(/Kernel panic - not syncing/, { timeoutMs: BOOT_TIMEOUT_MS, since: mark });
      const tPanic = Date.now();
      const back = await waitTag('v0.1.0');
      if (back === undefined) {
        unbootable++;
        break;
      }
      failedBootMs.push(back - tPanic);
    } else {
      const up = await waitTag('v0.2.0');
      if (up === undefined) {
        unbootable++;
        break;
      }
      upgradeMs.push(up - t0);
      const t1 = Date.now();
      await withClient((c) => c.machine.rollback({}));
      const back = await waitTag('v0.1.0');
      if (back === undefined) {
        unbootable++;
        break;
      }
      rollbackMs.push(back - t1);
    }
    done++;
    process.stderr.write(`# cycle ${i + 1}/${cycles} (${failing ? 'failing slot' : 'upgrade + rollback'}) done in ${Math.round((Date.now() - t0) / 1000)} s\n`);
  }
} catch (err) {
  figures.error = (err as Error).message;
} finally {
  await vm[Symbol.asyncDispose]();
  http.close();
  rmSync(work, { recursive: true, force: true });
}
Object.assign(figures, {
  cyclesDone: done,
  nodesUnbootable: unbootable,
  medianApiToNewVersionMs: median(upgradeMs),
  medianRollbackToOldVersionMs: median(rollbackMs),
  medianFailedBootToOldVersionMs: median(failedBootMs),
  samples: { upgradeMs, rollbackMs, failedBootMs },
});
console.log(JSON.stringify(figures, null, 2));
process.exit(figures.error || unbootable > 0 ? 1 : 0);
