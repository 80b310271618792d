// Issue 6 figures: seconds from `talosctl cluster create` (3 control planes + 1 worker, process
// provisioner, the dist bundles as shipped) to a healthy cluster, and RSS per node. Needs root.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

if (process.getuid?.() !== 0) {
  console.log(JSON.stringify({ bench: 'cluster-create', skipped: 'needs root (network namespaces)' }));
  process.exit(0);
}

const root = new URL('../../../', import.meta.url).pathname;
execFileSync(process.execPath, [join(root, 'scripts/build.mjs')], { stdio: 'ignore' });
const talosctl = join(root, 'dist/talosctl.cjs');
const tmp = mkdtempSync(join(tmpdir(), 'bench-cluster-'));
const name = 'bench-cluster';
const base = ['--talosconfig', join(tmp, 'talosconfig')];
const state = ['--name', name, '--state', join(tmp, 'clusters')];
const r2 = (n: number) => Math.round(n * 100) / 100;

function rssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    } catch {
      // ended meanwhile
    }
  }
  return r2(kb / 1024);
}

try {
  const t0 = performance.now();
  execFileSync(process.execPath, [talosctl, ...base, 'cluster', 'create', ...state, '--controlplanes', '3', '--workers', '1', '--cidr', '10.98.0.0/24', '--wait-timeout', '120s'], {
    stdio: 'ignore',
  });
  const createToHealthyS = r2((performance.now() - t0) / 1000);
  await new Promise((r) => setTimeout(r, 3000));
  const cluster = JSON.parse(readFileSync(join(tmp, 'clusters', name, 'state.json'), 'utf8')) as { nodes: { name: string; role: string; netns: string }[] };
  const perNode = cluster.nodes.map((n) => {
    const pids = execFileSync('ip', ['netns', 'pids', n.netns], { encoding: 'utf8' }).split('\n').filter(Boolean).map(Number);
    return { node: n.name, role: n.role, processes: pids.length, rssMb: rssMb(pids) };
  });
  console.log(JSON.stringify({ bench: 'cluster-create', controlplanes: 3, workers: 1, createToHealthyS, targetS: 30, perNode }, null, 2));
} finally {
  try {
    execFileSync(process.execPath, [talosctl, ...base, 'cluster', 'destroy', ...state], { stdio: 'ignore' });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
