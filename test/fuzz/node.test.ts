// The over-the-wire share of the fuzz and chaos suite (short, seeded, bounded run) against real
// machined/apid/trustd processes on loopback, with the Version probe running throughout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigMutator,
  FuzzReport,
  createRng,
  fuzzApiOverWire,
  fuzzConfigOverWire,
  fuzzFraming,
  hostileCalls,
  runFaults,
  seedFromEnv,
  servedMethods,
  startFuzzNode,
  startProbe,
  type FuzzNode,
  type Probe,
} from '@talos-ts/testkit';

const seed = seedFromEnv();
const rng = createRng(seed);
let configured: FuzzNode;
let maintenance: FuzzNode;
let mutator: ConfigMutator;
let probe: Probe;
const probeReport = new FuzzReport(seed);

before(async () => {
  // A 512 MB heap (small for a node's PID 1) turns an unbounded allocation into a crash we see.
  [configured, maintenance] = await Promise.all([
    startFuzzNode({ address: '127.0.6.1', configured: true, maxOldSpaceMb: 512 }),
    startFuzzNode({ address: '127.0.6.3', configured: false, maxOldSpaceMb: 512 }),
  ]);
  mutator = new ConfigMutator(configured.baseConfig);
  probe = startProbe(configured, probeReport, { intervalMs: 200, timeoutMs: 5000 });
});

after(async () => {
  await probe?.stop();
  // Both nodes go even when the first reports a leftover: a node left running holds its address
  // for the next run (seen: a maintenance machined still answering on 127.0.6.3 after its run).
  const results = await Promise.allSettled([configured?.[Symbol.asyncDispose](), maintenance?.[Symbol.asyncDispose]()]);
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
});

function check(report: FuzzReport): void {
  assert.deepEqual(report.summary(), [], report.describe());
}

test('fuzz: apply-config in maintenance mode (insecure) — no crash, no hang, nothing invalid accepted', async () => {
  const report = new FuzzReport(seed);
  await fuzzConfigOverWire(maintenance, new ConfigMutator(maintenance.baseConfig), rng.fork(), report, { maintenance: true, count: 30, timeBudgetMs: 8000 });
  check(report);
});

test('fuzz: apply-config over mTLS as admin (applies and dry runs) — clean rejections, stored as sent', async () => {
  const report = new FuzzReport(seed);
  await fuzzConfigOverWire(configured, mutator, rng.fork(), report, { maintenance: false, count: 30, timeBudgetMs: 8000 });
  check(report);
});

test('fuzz: random and mutated requests of every RPC through apid, machined and trustd — a status within the bound, no crash', async () => {
  const report = new FuzzReport(seed);
  const n = await fuzzApiOverWire(configured, rng.fork(), report, { count: servedMethods().length * 2, timeBudgetMs: 10_000 });
  assert.ok(n > 0);
  check(report);
});

test('fuzz: gRPC/HTTP2 framing abuse against apid — a status or reset within the bound, the node keeps serving', async () => {
  const report = new FuzzReport(seed);
  await fuzzFraming(configured, rng.fork(), report, { count: 11, timeBudgetMs: 20_000, callTimeoutMs: 8000, tinyFrameBytes: 512 * 1024 });
  check(report);
});

test('fuzz: hand-made hostile calls (regexp, fan-out, port scan, token flood, huge CSR, parallel applies, large diff)', async () => {
  const report = new FuzzReport(seed);
  await hostileCalls(configured, mutator, rng.fork(), report, { fanOut: 50, csrSans: 5000, tokenAttempts: 60, diffSans: 8000 });
  check(report);
});

test('chaos: kill -9 during writes, corrupt and torn state files, a second machined — old or new config, never maintenance with a config', async () => {
  const report = new FuzzReport(seed);
  await runFaults(configured, mutator, rng.fork(), report, {
    count: 5,
    timeBudgetMs: 90_000,
    comebackMs: 60_000,
    secondAddress: '127.0.6.2',
    faults: ['config-garbage', 'staged-torn', 'second-machined', 'kill-during-apply', 'secrets-dir-is-file'],
  });
  check(report);
});

test('probe: Version kept answering while the attacks ran', async () => {
  const r = await probe.stop();
  const p = probeReport.percentiles('version');
  assert.ok(r.calls > 0);
  // Reported, not asserted on timing: failures here mean the node stopped answering at all.
  assert.ok(r.failures < r.calls, `Version failed ${r.failures} of ${r.calls} times (p50 ${p.p50} ms, p99 ${p.p99} ms)`);
});
