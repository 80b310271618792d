// COSI runtime figures for issue 2: single-writer update rate, watch delivery latency under load,
// and convergence time of a chain of transform controllers. Prints one JSON object.
import { performance } from 'node:perf_hooks';
import {
  InMemoryState,
  Runtime,
  createTransformController,
  newResource,
  withSpec,
  type Resource,
  type Watch,
  type WatchEvent,
} from '@talos-ts/cosi';
import { setMaxListeners } from 'node:events';

const kind = { namespace: 'bench', type: 'Items.bench.talos.dev' };

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

function updatesPerSecond(): { resources: number; updates: number; updatesPerSec: number } {
  const s = new InMemoryState({ historyCapacity: 1024 });
  const n = 10_000;
  const current: Resource<{ i: number; v: number }>[] = [];
  for (let i = 0; i < n; i++) current.push(s.create(newResource(kind, `r${i}`, { i, v: 0 })));
  const total = 1_000_000;
  // Warm-up so the JIT has settled before measuring.
  for (let k = 0; k < 100_000; k++) {
    const idx = k % n;
    const r = current[idx] as Resource<{ i: number; v: number }>;
    current[idx] = s.update(withSpec(r, { i: idx, v: r.spec.v + 1 }));
  }
  const t0 = performance.now();
  for (let k = 0; k < total; k++) {
    const idx = k % n;
    const r = current[idx] as Resource<{ i: number; v: number }>;
    current[idx] = s.update(withSpec(r, { i: idx, v: r.spec.v + 1 }));
  }
  const ms = performance.now() - t0;
  return { resources: n, updates: total, updatesPerSec: Math.round((total / ms) * 1000) };
}

async function watchLatency(mode: 'perEvent' | 'batched'): Promise<Record<string, number | string>> {
  const s = new InMemoryState();
  const watchers = 100;
  const rate = 10_000;
  const durationMs = 3_000;
  const n = 1_000;
  const current: Resource<{ t: number }>[] = [];
  for (let i = 0; i < n; i++) current.push(s.create(newResource(kind, `r${i}`, { t: 0 })));
  const samples: number[] = [];
  let errored = 0;
  const ac = new AbortController();
  setMaxListeners(0, ac.signal);
  const consumers: Promise<void>[] = [];
  const watches: Watch[] = [];
  for (let w = 0; w < watchers; w++) {
    const watch = s.watchKind(kind, { signal: ac.signal });
    watches.push(watch);
    const seen = (e: WatchEvent, now: number): void => {
      if (e.type === 'errored') errored++;
      const t = (e.resource?.spec as { t: number } | undefined)?.t;
      if (t) samples.push(now - t);
    };
    consumers.push(
      mode === 'perEvent'
        ? (async () => {
            for await (const e of watch) seen(e, performance.now());
          })()
        : (async () => {
            for (let batch = await watch.nextBatch(); batch; batch = await watch.nextBatch()) {
              const now = performance.now();
              for (const e of batch) seen(e, now);
            }
          })(),
    );
  }
  let written = 0;
  const start = performance.now();
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const now = performance.now();
      const elapsed = now - start;
      if (elapsed >= durationMs) return resolve();
      const due = Math.floor((elapsed / 1000) * rate);
      while (written < due) {
        const idx = written % n;
        current[idx] = s.update(withSpec(current[idx] as Resource<{ t: number }>, { t: performance.now() }));
        written++;
      }
      setImmediate(tick);
    };
    tick();
  });
  await new Promise((r) => setTimeout(r, 50));
  ac.abort();
  await Promise.all(consumers);
  const actualRate = (written / (performance.now() - start - 50)) * 1000;
  samples.sort((a, b) => a - b);
  return {
    mode,
    watchers,
    targetUpdatesPerSec: rate,
    actualUpdatesPerSec: Math.round(actualRate),
    deliveries: samples.length,
    erroredWatches: errored,
    p50Ms: round(percentile(samples, 50)),
    p99Ms: round(percentile(samples, 99)),
    maxMs: round(samples[samples.length - 1] ?? NaN),
  };
}

async function transformChain(): Promise<Record<string, number>> {
  const depth = 10;
  const s = new InMemoryState();
  const rt = new Runtime(s);
  const kinds = Array.from({ length: depth + 1 }, (_, i) => ({ namespace: 'bench', type: `Step${i}s.bench.talos.dev` }));
  for (let i = 0; i < depth; i++) {
    rt.register(
      createTransformController<{ v: number }, { v: number }>({
        name: `bench.Step${i}Controller`,
        input: kinds[i] as (typeof kinds)[number],
        output: kinds[i + 1] as (typeof kinds)[number],
        transform: (r) => ({ spec: { v: r.spec.v } }),
      }),
    );
  }
  const ac = new AbortController();
  const done = rt.run(ac.signal);
  const last = kinds[depth] as (typeof kinds)[number];
  const first = kinds[0] as (typeof kinds)[number];
  const reached = (v: number) =>
    new Promise<void>((resolve) => {
      const check = (): boolean => (s.find<{ v: number }>({ ...last, id: 'x' })?.spec.v ?? -1) === v;
      if (check()) return resolve();
      const off = s.subscribe(last, () => {
        if (check()) {
          off();
          resolve();
        }
      });
    });
  let r = s.create(newResource(first, 'x', { v: 0 }));
  await reached(0);
  const times: number[] = [];
  for (let v = 1; v <= 200; v++) {
    const t0 = performance.now();
    r = s.update(withSpec(r, { v }));
    await reached(v);
    times.push(performance.now() - t0);
  }
  ac.abort();
  await done;
  times.sort((a, b) => a - b);
  return { controllers: depth, changes: times.length, p50Ms: round(percentile(times, 50)), p99Ms: round(percentile(times, 99)), maxMs: round(times[times.length - 1] ?? NaN) };
}

const updates = updatesPerSecond();
const watchBatched = await watchLatency('batched');
const watchPerEvent = await watchLatency('perEvent');
const chain = await transformChain();
console.log(
  JSON.stringify(
    {
      bench: 'cosi',
      node: process.version,
      singleWriter: updates,
      watchDelivery: watchBatched,
      watchDeliveryPerEvent: watchPerEvent,
      transformChain: chain,
      targets: { updatesPerSec: 200_000, watchP99Ms: 2, chainMs: 10 },
    },
    null,
    2,
  ),
);
