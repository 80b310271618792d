// The long fuzz and chaos run: FUZZ_INPUTS inputs (default 5,000; 100,000 for the closing figures;
// FUZZ_WIRE_SHARE of them over the wire, default 0.1; FUZZ_FAULTS faults, default max(10, inputs/10k))
// split between the real parsers/decoders in this process and real nodes over the wire, then
// faults. Prints one JSON object: inputs per category, crashes, hangs, accepted-invalid, every
// finding group, apid/machined RSS before, at peak and after load, and the Version probe under attack.
import { connect, type Socket } from 'node:net';
import {
  ConfigMutator,
  FuzzReport,
  createRng,
  fuzzApiOverWire,
  fuzzConfigInProcess,
  fuzzConfigOverWire,
  fuzzFraming,
  fuzzMessagesInProcess,
  hostileCalls,
  runFaults,
  seedFromEnv,
  startFuzzNode,
  startProbe,
  type FuzzNode,
  type NodeRss,
} from '@talos-ts/testkit';

const total = Number(process.env.FUZZ_INPUTS ?? 5000);
const wireShare = Number(process.env.FUZZ_WIRE_SHARE ?? 0.1);
const seed = seedFromEnv();
const rng = createRng(seed);
const report = new FuzzReport(seed);
const t0 = performance.now();
const mb = (b: number): number => Math.round(b / 1048576);

const wire = Math.round(total * wireShare);
const plan = {
  configInProcess: Math.round((total - wire) * 0.5),
  messagesInProcess: total - wire - Math.round((total - wire) * 0.5),
  applyInsecure: Math.round(wire * 0.15),
  applyMtls: Math.round(wire * 0.3),
  rpc: Math.round(wire * 0.55),
  framing: Math.max(22, Math.round(total / 2000)),
  faults: Number(process.env.FUZZ_FAULTS ?? Math.max(10, Math.round(total / 10_000))),
};

// In-process first, without the probe: a synchronous parser run would stall the probe's own loop.
const base = await startFuzzNode({ address: '127.0.7.1', configured: true, maxOldSpaceMb: 1024 });
const maintenance = await startFuzzNode({ address: '127.0.7.3', configured: false, maxOldSpaceMb: 1024 });
const timings: Record<string, number> = {};
const phase = async (name: string, fn: () => unknown): Promise<void> => {
  const s = performance.now();
  console.error(`fuzz: ${name}… (${report.countOf()} findings so far, ${Math.round((s - t0) / 1000)} s)`);
  await fn();
  timings[name] = Math.round(performance.now() - s);
};
const mutator = new ConfigMutator(base.baseConfig);
await phase('configInProcess', () => fuzzConfigInProcess(mutator, rng.fork(), report, { count: plan.configInProcess, timeBudgetMs: 40 * 60_000 }));
await phase('messagesInProcess', () => fuzzMessagesInProcess(rng.fork(), report, { count: plan.messagesInProcess, timeBudgetMs: 20 * 60_000 }));

await new Promise((r) => setTimeout(r, 3000));
const before: NodeRss = base.rss();
let peak: NodeRss = before;
const sampler = setInterval(() => {
  const r = base.rss();
  peak = { machined: Math.max(peak.machined, r.machined), apid: Math.max(peak.apid, r.apid), trustd: Math.max(peak.trustd, r.trustd) };
}, 250);
const probe = startProbe(base, report, { intervalMs: 100, timeoutMs: 5000 });

await phase('applyInsecure', () => fuzzConfigOverWire(maintenance, new ConfigMutator(maintenance.baseConfig), rng.fork(), report, { maintenance: true, count: plan.applyInsecure, timeBudgetMs: 10 * 60_000 }));
await phase('applyMtls', () => fuzzConfigOverWire(base, mutator, rng.fork(), report, { maintenance: false, count: plan.applyMtls, timeBudgetMs: 15 * 60_000 }));
await phase('rpc', () => fuzzApiOverWire(base, rng.fork(), report, { count: plan.rpc, timeBudgetMs: 15 * 60_000 }));
await phase('framing', () => fuzzFraming(base, rng.fork(), report, { count: plan.framing, timeBudgetMs: 10 * 60_000, tinyFrameBytes: 4 * 1024 * 1024 }));
await phase('idleConnections', () => idleConnections(base, 2000, 5000));
await phase('hostile', () => hostileCalls(base, mutator, rng.fork(), report, { fanOut: 2000, csrSans: 120_000, tokenAttempts: 1000, diffSans: 8000, callTimeoutMs: 10_000 }));
const probed = await probe.stop();
clearInterval(sampler);
await new Promise((r) => setTimeout(r, 10_000));
const afterLoad: NodeRss = base.rss();

await phase('faults', () => runFaults(base, mutator, rng.fork(), report, { count: plan.faults, timeBudgetMs: 20 * 60_000, secondAddress: '127.0.7.2' }));

await base[Symbol.asyncDispose]();
await maintenance[Symbol.asyncDispose]();

const inputs = Object.fromEntries([...report.inputs].sort());
console.log(
  JSON.stringify(
    {
      bench: 'fuzz',
      seed,
      inputsTried: [...report.inputs.values()].reduce((a, b) => a + b, 0),
      inputs,
      crashes: report.countOf('crash'),
      hangs: report.countOf('hang'),
      acceptedInvalid: report.countOf('accepted-invalid'),
      findings: report.countOf(),
      findingGroups: report.summary(),
      rssMb: {
        machined: { before: mb(before.machined), peak: mb(peak.machined), after: mb(afterLoad.machined) },
        apid: { before: mb(before.apid), peak: mb(peak.apid), after: mb(afterLoad.apid) },
        trustd: { before: mb(before.trustd), peak: mb(peak.trustd), after: mb(afterLoad.trustd) },
      },
      versionUnderAttackMs: { ...report.percentiles('version'), failures: probed.failures },
      inProcessConfigLoadMs: report.percentiles('config-in-process'),
      phasesMs: timings,
      elapsedS: Math.round((performance.now() - t0) / 1000),
    },
    null,
    2,
  ),
);

/** Holds many TCP connections to apid open without a TLS handshake, then closes them. */
async function idleConnections(node: FuzzNode, count: number, holdMs: number): Promise<void> {
  report.count('idle-connections', count);
  const sockets: Socket[] = [];
  for (let i = 0; i < count; i++) {
    const s = connect({ host: node.address, port: 50000 });
    s.on('error', () => {});
    sockets.push(s);
  }
  await new Promise((r) => setTimeout(r, holdMs));
  for (const s of sockets) s.destroy();
  try {
    await node.probe(10_000);
  } catch (err) {
    report.fail('unavailable', 'idle-connections', `Version failed after ${count} idle connections: ${err instanceof Error ? err.message : String(err)}`);
  }
}
