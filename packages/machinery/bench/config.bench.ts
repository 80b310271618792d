// Machine config figures: load+validate throughput of a realistic controlplane.yaml, save time,
// and generateMachineConfigs time with fixed secrets. Prints one JSON object.
import { generateMachineConfigs, loadConfig, validateConfig } from '../src/index.ts';
import { fixture, fixtureSecrets } from '../src/config/testdata/fixtures.ts';

function measure(fn: () => void, budgetMs: number): { ops: number; perSecond: number; meanMs: number } {
  for (let i = 0; i < 20; i++) fn();
  let ops = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < budgetMs) {
    fn();
    ops++;
    elapsed = performance.now() - start;
  }
  return { ops, perSecond: Math.round((ops / elapsed) * 1000), meanMs: Number((elapsed / ops).toFixed(3)) };
}

const text = fixture('controlplane.yaml');
const loadValidate = measure(() => {
  const r = loadConfig(text, { filename: 'controlplane.yaml' });
  if (!r.value) throw new Error(r.error.message);
  const v = validateConfig(r.value, { mode: 'metal' });
  if (v.errors.length) throw new Error('fixture invalid');
}, 1000);

const loaded = loadConfig(text, { filename: 'controlplane.yaml' }).value;
if (!loaded) throw new Error('fixture does not load');
const save = measure(() => {
  loaded.config.machine.network!.hostname = `cp-${Math.random()}`;
  loaded.toYaml();
}, 500);

const secrets = fixtureSecrets();
const generate = measure(() => {
  generateMachineConfigs({ clusterName: 'bench', endpoint: 'https://10.5.0.2:6443', secrets });
}, 500);
const generateAndRender = measure(() => {
  const g = generateMachineConfigs({ clusterName: 'bench', endpoint: 'https://10.5.0.2:6443', secrets });
  g.controlplane.toYaml();
  g.worker.toYaml();
}, 500);

console.log(
  JSON.stringify({
    bench: 'config',
    fixtureBytes: Buffer.byteLength(text),
    loadValidatePerSecond: loadValidate.perSecond,
    loadValidateMeanMs: loadValidate.meanMs,
    saveMeanMs: save.meanMs,
    generateMeanMs: generate.meanMs,
    generateAndRenderMeanMs: generateAndRender.meanMs,
  }),
);
