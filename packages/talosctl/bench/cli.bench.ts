// Whole-process start-up of the talosctl users run (packages/talosctl/bin/talosctl.js: the bundle
// through its code cache), against `node -e 0` in the same run: runs alternate (node, talosctl,
// node, talosctl, …) so a machine whose speed drifts moves both alike. Prints medians (ms) of wall
// time and the median of the per-pair difference over `node -e 0`.
//   --help                   no command module is loaded
//   version --client         the version command, no network
//   version                  over mTLS against a real loopback node (machined bundle, container mode)
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createTalosClient, generateAdminTalosconfig, generateMachineConfigs, generateSecretsBundle, serializeTalosconfig, toConfigSecrets } from '@talos-ts/machinery';
import { startNode, tempDir, waitFor } from '@talos-ts/testkit';

const root = new URL('../../..', import.meta.url).pathname;
const bin = join(root, 'packages/talosctl/bin/talosctl.js');
const runs = Number(process.env['BENCH_RUNS'] ?? 15);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return Math.round((s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) * 10) / 10;
};

function wallMs(args: readonly string[], env: NodeJS.ProcessEnv = {}): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}: ${r.stderr.toString()}`);
  return ms;
}

function paired(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  wallMs(['-e', '0']);
  wallMs([bin, ...args], env); // warm-up: builds the bundle if stale, writes the code cache
  const node: number[] = [];
  const cli: number[] = [];
  const over: number[] = [];
  for (let i = 0; i < runs; i++) {
    const a = wallMs(['-e', '0']);
    const b = wallMs([bin, ...args], env);
    node.push(a);
    cli.push(b);
    over.push(b - a);
  }
  return { talosctlMs: median(cli), nodeMs: median(node), overNodeMs: median(over) };
}

const tmp = tempDir('bench-cli-');
const address = '127.0.0.97';
const node = await startNode(address, join(tmp.dir, 'node'), { bundled: true });
try {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'bench', endpoint: `https://${address}:6443`, withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  const maintenance = createTalosClient({ endpoints: [address], insecure: true });
  try {
    await maintenance.machine.applyConfiguration({ data: Buffer.from(g.controlplane.toYaml()) });
  } finally {
    maintenance.close();
  }
  const talosconfig = join(tmp.dir, 'talosconfig');
  writeFileSync(talosconfig, serializeTalosconfig(await generateAdminTalosconfig({ contextName: 'bench', endpoints: [address], nodes: [address], osCa: bundle.certs.os })));
  const env = { TALOSCONFIG: talosconfig };
  await waitFor('apid over mTLS', () => spawnSync(process.execPath, [bin, 'version'], { env: { ...process.env, ...env } }).status === 0, 60_000);
  const figures = {
    runs,
    help: paired(['--help']),
    versionClient: paired(['version', '--client']),
    versionMtls: paired(['version'], env),
    targetsMs: { help: 120, versionMtls: 200 },
  };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  await node.stop();
  tmp.remove();
}
