// Issue 4 figures with real processes: machine API round trips through apid (direct, one proxy
// hop, one-to-many over 5 nodes), the talosctl CLI's own wall time, and idle RSS of a control-plane
// node's machined + apid + trustd. Prints one JSON object.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  createSelfSignedCa,
  createTalosClient,
  generateAdminTalosconfig,
  generateKey,
  generateMachineConfigs,
  generateSecretsBundle,
  machinePb,
  privateKeyToPkcs8Pem,
  serializeTalosconfig,
  toConfigSecrets,
  type TalosClient,
} from '@talos-ts/machinery';
import { processesUsing, startNode, tempDir, waitFor, type NodeProcess } from '@talos-ts/testkit';

const addresses = ['127.0.0.31', '127.0.0.32', '127.0.0.33', '127.0.0.34', '127.0.0.35'];
const [cp] = addresses as [string];
const tmp = tempDir('bench-api-');
const nodes: NodeProcess[] = [];

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))] ?? NaN;
const r2 = (n: number) => Math.round(n * 100) / 100;

function rssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

/** Private (unshared) resident memory: what the process alone costs; Node's executable pages are shared by every Node process. */
function ussKb(pid: number): number {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(t)?.[1] ?? 0);
  return field('Private_Clean') + field('Private_Dirty');
}

/**
 * RSS of the smallest Node process that does what each of ours must: an ES module serving
 * HTTP/2 over TLS 1.3, idle. Three of these are the floor of machined + apid + trustd.
 */
async function nodeFloorRssMb(): Promise<{ bareMb: number; tlsServerMb: number }> {
  const key = await generateKey('ecdsa');
  const now = Date.now();
  const crt = createSelfSignedCa({ key, subject: { commonName: 'floor' }, notBefore: new Date(now - 60_000), notAfter: new Date(now + 3_600_000) }).crtPem;
  const server = [
    "import { createSecureServer } from 'node:http2';",
    "createSecureServer({ minVersion: 'TLSv1.3', cert: process.env.CRT, key: process.env.KEY }).listen(0, '127.0.0.1');",
  ].join('\n');
  const measure = async (args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> => {
    const child = spawn(process.execPath, args, { stdio: 'ignore', env: { ...process.env, ...env } });
    try {
      await new Promise((r) => setTimeout(r, 1000));
      return r2(rssKb(child.pid as number) / 1024);
    } finally {
      child.kill('SIGKILL');
    }
  };
  return {
    bareMb: await measure(['-e', 'setInterval(() => {}, 1000)']),
    tlsServerMb: await measure(['--input-type=module', '-e', server], { CRT: crt, KEY: privateKeyToPkcs8Pem(key) }),
  };
}

function rssOf(node: NodeProcess, measure: (pid: number) => number = rssKb): { machinedMb: number; apidMb: number; trustdMb: number; totalMb: number } {
  // Classify by the program (argv[1]'s file name): apid's own arguments mention machined's socket.
  const procs = processesUsing(node.dir).map((pid) => ({
    program: basename(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[1] ?? ''),
    rss: measure(pid),
  }));
  const by = (name: string) => r2(procs.filter((p) => p.program.startsWith(name)).reduce((s, p) => s + p.rss, 0) / 1024);
  const rss = { machinedMb: by('machined'), apidMb: by('apid'), trustdMb: by('trustd') };
  return { ...rss, totalMb: r2(rss.machinedMb + rss.apidMb + rss.trustdMb) };
}

async function timed(n: number, call: () => Promise<unknown>): Promise<{ p50Ms: number; p99Ms: number; meanMs: number }> {
  for (let i = 0; i < 20; i++) await call();
  const xs: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    xs.push(performance.now() - t0);
  }
  return { p50Ms: r2(pct(xs, 50)), p99Ms: r2(pct(xs, 99)), meanMs: r2(xs.reduce((a, b) => a + b, 0) / xs.length) };
}

// Measure what ships: the esbuild bundles, not the TypeScript loader.
execFileSync(process.execPath, [new URL('../../../scripts/build.mjs', import.meta.url).pathname], { stdio: 'ignore' });

try {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'bench', endpoint: `https://${cp}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  for (const a of addresses) nodes.push(await startNode(a, join(tmp.dir, a), { bundled: true }));
  for (const [i, a] of addresses.entries()) {
    const c = createTalosClient({ endpoints: [a], insecure: true });
    await c.machine.applyConfiguration({ data: Buffer.from((i === 0 ? g.controlplane : g.worker).toYaml()), mode: machinePb.ApplyConfigurationRequest_Mode.AUTO });
    c.close();
  }
  const tc = await generateAdminTalosconfig({ contextName: 'bench', endpoints: [cp], osCa: bundle.certs.os });
  const tcFile = join(tmp.dir, 'talosconfig');
  writeFileSync(tcFile, serializeTalosconfig(tc));
  const admin = await generateAdminTalosconfig({ contextName: 'x', endpoints: [cp], osCa: bundle.certs.os });
  const ctx = admin.contexts['x']!;
  const pem = (b: string | undefined) => Buffer.from(b ?? '', 'base64').toString();
  const client: TalosClient = createTalosClient({ endpoints: [cp], caPem: pem(ctx.ca), crtPem: pem(ctx.crt), keyPem: pem(ctx.key) });
  for (const a of addresses) {
    await waitFor(`apid on ${a}`, async () => (await client.withNode(a).machine.version({}, { timeoutMs: 2000 })).messages.length > 0, 60_000);
  }

  // Idle: booted, healthy, nothing asked of it for a few seconds.
  await new Promise((r) => setTimeout(r, 3000));
  const rssIdle = rssOf(nodes[0] as NodeProcess);
  const ussIdle = rssOf(nodes[0] as NodeProcess, ussKb);
  const nodeFloor = await nodeFloorRssMb();

  // Steady state: every path (and every process on it) warmed up before any is timed, so the
  // first one measured does not pay for the JIT of the others.
  for (let i = 0; i < 100; i++) {
    await client.withNodes([]).machine.version({});
    await client.withNode(addresses[1] as string).machine.version({});
    await client.withNodes(addresses).machine.version({});
  }
  const direct = await timed(300, () => client.withNodes([]).machine.version({}));
  const hop = await timed(300, () => client.withNode(addresses[1] as string).machine.version({}));
  const single = await timed(300, () => client.withNodes([cp]).machine.version({}));
  const fanout = await timed(200, () => client.withNodes(addresses).machine.version({}));
  client.close();

  const cli: number[] = [];
  const talosctl = new URL('../../../dist/talosctl.cjs', import.meta.url).pathname;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    execFileSync(process.execPath, [talosctl, '--talosconfig', tcFile, '-e', cp, '-n', cp, 'version'], { stdio: 'ignore' });
    cli.push(performance.now() - t0);
  }

  const rssAfterLoad = rssOf(nodes[0] as NodeProcess);

  console.log(
    JSON.stringify(
      {
        bench: 'machine-api',
        versionRoundTrip: { directToApid: direct, oneProxyHop: hop, oneToManyOneNode: single, oneToManyFiveNodes: fanout },
        fanoutOverSingle: r2(fanout.p50Ms / single.p50Ms),
        talosctlVersionCliWallMs: cli.map(r2),
        idleRssControlPlane: rssIdle,
        idleUssControlPlane: ussIdle,
        idleNodeProcessFloorRssMb: nodeFloor,
        rssControlPlaneAfterLoad: rssAfterLoad,
        targets: { directMs: 3, fanoutRatio: 1.5, rssMb: 120 },
      },
      null,
      2,
    ),
  );
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  tmp.remove();
}
