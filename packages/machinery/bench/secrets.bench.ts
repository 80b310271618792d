// Where generateSecretsBundle spends its time (key generation vs certificate building vs the
// rest), and the cost of an admin talosconfig. Prints one JSON object.
import { generateAdminTalosconfig, generateSecretsBundle, type BundlePhase, type KeyType } from '../src/index.ts';

function stats(samples: number[]): { meanMs: number; minMs: number; maxMs: number } {
  const sum = samples.reduce((a, b) => a + b, 0);
  const r = (v: number) => Math.round(v * 100) / 100;
  return { meanMs: r(sum / samples.length), minMs: r(Math.min(...samples)), maxMs: r(Math.max(...samples)) };
}

async function bundleRuns(saType: Extract<KeyType, 'rsa' | 'ecdsa'>, runs: number) {
  const phases: Record<BundlePhase | 'total', number[]> = { keys: [], certs: [], rest: [], total: [] };
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await generateSecretsBundle({ serviceAccountKeyType: saType, onPhase: (p, ms) => phases[p].push(ms) });
    phases.total.push(performance.now() - t);
  }
  return {
    runs,
    keyGeneration: stats(phases.keys),
    certificateBuilding: stats(phases.certs),
    rest: stats(phases.rest),
    total: stats(phases.total),
  };
}

// Warm up module loading and the thread pool so the first sample is not an outlier.
const warm = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });

const ecdsa = await bundleRuns('ecdsa', 20);
const rsa = await bundleRuns('rsa', 3);

const adminSamples: number[] = [];
for (let i = 0; i < 50; i++) {
  const t = performance.now();
  await generateAdminTalosconfig({ contextName: 'bench', endpoints: ['10.5.0.2'], osCa: warm.certs.os });
  adminSamples.push(performance.now() - t);
}

console.log(
  JSON.stringify({
    bench: 'secrets',
    generateSecretsBundle: { serviceAccountEcdsa: ecdsa, serviceAccountRsa4096Default: rsa },
    generateAdminTalosconfig: { runs: adminSamples.length, ...stats(adminSamples) },
  }),
);
