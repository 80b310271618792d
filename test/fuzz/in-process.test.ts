// The in-process share of the fuzz suite (short, seeded run): config mutations through the real
// loader and validator, request mutations of every RPC through the real decoder.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateMachineConfigs, generateSecretsBundle, toConfigSecrets } from '@talos-ts/machinery';
import { CONFIG_MUTATIONS, ConfigMutator, FuzzReport, checkConfigInProcess, createRng, fuzzMessagesInProcess, seedFromEnv, servedMethods } from '@talos-ts/testkit';

const seed = seedFromEnv();
let mutator: ConfigMutator;

before(async () => {
  const bundle = await generateSecretsBundle({ serviceAccountKeyType: 'ecdsa' });
  const g = generateMachineConfigs({ clusterName: 'fuzz', endpoint: 'https://127.0.0.1:6443', withClusterDiscovery: false, secrets: toConfigSecrets(bundle) });
  mutator = new ConfigMutator(g.controlplane.toYaml());
});

test('fuzz: every config mutation category loads without a crash or hang, and no known-invalid config is accepted', () => {
  const report = new FuzzReport(seed);
  const rng = createRng(seed);
  const end = performance.now() + 10_000;
  // Every category the same number of times, so a short run still covers each one.
  for (let round = 0; round < 12 && performance.now() < end; round++) {
    for (const c of CONFIG_MUTATIONS) {
      const child = rng.fork();
      checkConfigInProcess(mutator.mutate(c, child), report, child.seed);
    }
  }
  assert.ok((report.inputs.get('config/prototype-key') ?? 0) > 0, 'the run covered the categories');
  assert.deepEqual(report.summary(), [], report.describe());
});

test('fuzz: mutated requests of every RPC decode or fail with InvalidArgument, never throw otherwise', () => {
  const report = new FuzzReport(seed);
  const n = fuzzMessagesInProcess(createRng(seed), report, { count: servedMethods().length * 10, timeBudgetMs: 8000 });
  assert.ok(n >= servedMethods().length, `every method was tried (${n} inputs)`);
  assert.deepEqual(report.summary(), [], report.describe());
});
