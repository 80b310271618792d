// `talosctl gen config` wall time, end to end in-process, and where it goes: key generation
// (the secrets bundle, dominated by the RSA-4096 service-account key upstream uses) versus the rest.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  generateAdminTalosconfig,
  generateMachineConfigs,
  generateSecretsBundle,
  serializeTalosconfig,
  toConfigSecrets,
} from '@talos-ts/machinery';
import { main } from '@talos-ts/talosctl';

const round = (n: number) => Math.round(n * 100) / 100;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const quiet = { out: () => {}, err: () => {} };

const dir = mkdtempSync(join(tmpdir(), 'bench-genconfig-'));
try {
  const wall: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const code = await main(['gen', 'config', 'bench', 'https://10.5.0.2:6443', '-o', join(dir, `run${i}`)], quiet);
    wall.push(performance.now() - t0);
    if (code !== 0) throw new Error(`gen config exited ${code}`);
  }
  const secretsMs: number[] = [];
  const restMs: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    const bundle = await generateSecretsBundle();
    const t1 = performance.now();
    const configs = generateMachineConfigs({ clusterName: 'bench', endpoint: 'https://10.5.0.2:6443', secrets: toConfigSecrets(bundle) });
    configs.controlplane.toYaml();
    configs.worker.toYaml();
    serializeTalosconfig(await generateAdminTalosconfig({ contextName: 'bench', endpoints: ['127.0.0.1'], osCa: bundle.certs.os }));
    const t2 = performance.now();
    secretsMs.push(t1 - t0);
    restMs.push(t2 - t1);
  }
  console.log(
    JSON.stringify(
      {
        bench: 'gen-config',
        runs: wall.length,
        wallMsMean: round(mean(wall)),
        wallMsMin: round(Math.min(...wall)),
        secretsBundleMsMean: round(mean(secretsMs)),
        configsAndTalosconfigMsMean: round(mean(restMs)),
        note: 'secrets bundle time is key generation plus CA certificates; see secrets.bench for that split',
      },
      null,
      2,
    ),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
