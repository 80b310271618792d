// Service supervisor figures: log append rate at the 1 MiB bound, and how long it takes to start
// a dependency chain of in-process services to Running and stop them all. Prints one JSON object.
import { performance } from 'node:perf_hooks';
import { ServiceLog, ServiceState, ServiceSupervisor, TaskRunner, type ServiceDefinition } from '@talos-ts/machined';

const round = (n: number, d = 3) => Math.round(n * 10 ** d) / 10 ** d;

async function logAppend(): Promise<{ lines: number; linesPerSec: number; heldBytes: number }> {
  await using log = new ServiceLog('bench');
  const line = 'x'.repeat(100);
  const lines = 500_000;
  const t0 = performance.now();
  for (let i = 0; i < lines; i++) log.append(line);
  const sec = (performance.now() - t0) / 1000;
  return { lines, linesPerSec: Math.round(lines / sec), heldBytes: log.bytes };
}

async function chain(n: number): Promise<{ services: number; startMs: number; stopAllMs: number }> {
  const idle = (signal: AbortSignal): Promise<void> => new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
  const defs: ServiceDefinition[] = [];
  for (let i = 0; i < n; i++) {
    defs.push({ id: `s${i}`, dependsOn: i === 0 ? [] : [`s${i - 1}`], runner: () => new TaskRunner(`s${i}`, idle) });
  }
  await using sup = new ServiceSupervisor();
  const t0 = performance.now();
  sup.loadAndStart(...defs);
  await sup.waitFor(`s${n - 1}`, (i) => i.state === ServiceState.Running, AbortSignal.timeout(30_000));
  const startMs = performance.now() - t0;
  const t1 = performance.now();
  await sup.stopAll();
  return { services: n, startMs: round(startMs), stopAllMs: round(performance.now() - t1) };
}

console.log(JSON.stringify({ logAppend: await logAppend(), dependencyChain: await chain(200) }));
